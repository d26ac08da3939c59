//! Reconciling the two sides' schemas into a comparison plan.
//!
//! Each side's schema (from its first file, plus Hive partition columns) goes through
//! `--ignore` and `--rename`; then the columns are matched by name. The result is a [`Plan`]:
//! the compared columns in canonical order (sorted by name), the key columns among them, and
//! every schema change — a column on one side only, or a type change. A type change inside one
//! family (int32 → int64, utf8 → large_utf8, a timestamp's unit or zone, a decimal's scale) is
//! compatible: the values still compare, and it diverges only with `--strict-types`. A change
//! across families (int → string) is a divergence and the column is left out of the value
//! comparison. The plan also projects every decoded batch of a side onto the compared columns,
//! so the hashing and diff stages only see aligned batches.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use serde::Serialize;

use crate::config::{DiffConfig, Tolerance};
use crate::error::{Error, Result};
use crate::fingerprint::{family, Family};

/// One compared column.
#[derive(Debug, Clone)]
pub struct PlanColumn {
    /// Its name (the right side's name).
    pub name: String,
    /// Its name on the left.
    pub left_name: String,
    /// Type on the left.
    pub left_type: DataType,
    /// Type on the right.
    pub right_type: DataType,
    /// The common family.
    pub family: Family,
    /// Part of the key.
    pub is_key: bool,
    /// Tolerance for float/decimal columns, if any.
    pub tolerance: Option<Tolerance>,
}

/// What changed between the two schemas.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SchemaChange {
    /// Column name (right-side name where both exist).
    pub column: String,
    /// `only_left`, `only_right` or `type_changed`.
    pub kind: SchemaChangeKind,
    /// The left type, when on the left.
    pub left_type: Option<String>,
    /// The right type, when on the right.
    pub right_type: Option<String>,
    /// Whether this change makes the sides diverge.
    pub divergent: bool,
}

/// Kinds of schema change.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SchemaChangeKind {
    /// The column is only on the left.
    OnlyLeft,
    /// The column is only on the right.
    OnlyRight,
    /// The column's type differs.
    TypeChanged,
}

/// The comparison plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Compared columns, sorted by name.
    pub columns: Vec<PlanColumn>,
    /// Indices of the key columns in `columns`, in the order the key was given.
    pub key: Vec<usize>,
    /// Every schema change.
    pub changes: Vec<SchemaChange>,
    /// The schema of projected left batches.
    pub left_schema: SchemaRef,
    /// The schema of projected right batches.
    pub right_schema: SchemaRef,
    /// Every column name of the left side (its first file and partition folders).
    pub left_names: BTreeSet<String>,
    /// Every column name of the right side.
    pub right_names: BTreeSet<String>,
}

impl Plan {
    /// Whether the schema alone makes the sides diverge.
    pub fn divergent(&self) -> bool {
        self.changes.iter().any(|c| c.divergent)
    }

    /// Whether both sides' fingerprints cover exactly the same columns, so that equal
    /// fingerprints prove equivalence.
    pub fn fully_comparable(&self) -> bool {
        !self.divergent()
    }
}

/// A side's columns as decoded: the file schema plus Hive partition columns.
pub fn with_partition_columns(schema: &SchemaRef, partition_keys: &[String]) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    for k in partition_keys {
        if schema.field_with_name(k).is_err() {
            fields.push(Field::new(k, DataType::Utf8, true));
        }
    }
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The type a column is compared and spilled as: dictionaries and run-end encoded columns are
/// decoded to their values (Arrow IPC files cannot hold a dictionary that changes between
/// batches, and the encoding is a storage choice, not a value).
pub fn decoded_type(dt: &DataType) -> DataType {
    match dt {
        DataType::Dictionary(_, v) => decoded_type(v),
        DataType::RunEndEncoded(_, values) => decoded_type(values.data_type()),
        other => other.clone(),
    }
}

/// Whether two types hold the same logical type, ignoring physical layout: string and binary
/// layouts (plain, large, view) and dictionary encoding are storage choices, not schema changes.
pub fn same_logical_type(a: &DataType, b: &DataType) -> bool {
    fn strip(dt: &DataType) -> &DataType {
        match dt {
            DataType::Dictionary(_, v) => strip(v),
            other => other,
        }
    }
    let (a, b) = (strip(a), strip(b));
    if a == b || in_name_order(&layout_free(a)) == in_name_order(&layout_free(b)) {
        return true;
    }
    matches!((family(a), family(b)), (Family::Utf8, Family::Utf8))
        || matches!(
            (a, b),
            (
                DataType::Binary | DataType::LargeBinary | DataType::BinaryView,
                DataType::Binary | DataType::LargeBinary | DataType::BinaryView
            )
        )
}

/// `dt` without what only says how a writer laid nested values out: the names of the wrapper
/// fields of lists (`element`, `item`, `array`) and maps (`key_value`, `entries`, and its `key`
/// and `value` children), the nullability declared for nested fields (a null is data, and
/// compared as such; a declaration that there are none is not), and nested fields' metadata
/// (Parquet field ids). Struct field names stay: they name data.
fn layout_free(dt: &DataType) -> DataType {
    let plain = |name: &str, f: &arrow::datatypes::FieldRef| {
        Arc::new(Field::new(name, layout_free(f.data_type()), true))
    };
    match dt {
        DataType::List(f) => DataType::List(plain("item", f)),
        DataType::LargeList(f) => DataType::LargeList(plain("item", f)),
        DataType::ListView(f) => DataType::ListView(plain("item", f)),
        DataType::LargeListView(f) => DataType::LargeListView(plain("item", f)),
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(plain("item", f), *n),
        DataType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| plain(f.name(), f))
                .collect::<Vec<_>>()
                .into(),
        ),
        DataType::Map(entries, _) => {
            let children: Vec<arrow::datatypes::FieldRef> = match entries.data_type() {
                DataType::Struct(kv) => kv
                    .iter()
                    .zip(["key", "value"])
                    .map(|(f, name)| plain(name, f))
                    .collect(),
                other => vec![Arc::new(Field::new("key", layout_free(other), true))],
            };
            // Whether a writer declared its keys sorted is a promise about layout too.
            DataType::Map(
                Arc::new(Field::new(
                    "entries",
                    DataType::Struct(children.into()),
                    false,
                )),
                false,
            )
        }
        other => other.clone(),
    }
}

/// `dt` with the fields of every struct in it sorted by name: a struct's field order is not
/// part of its type (values are compared field by field, by name).
fn in_name_order(dt: &DataType) -> DataType {
    let field = |f: &arrow::datatypes::FieldRef| {
        Arc::new(
            f.as_ref()
                .clone()
                .with_data_type(in_name_order(f.data_type())),
        )
    };
    match dt {
        DataType::Struct(fields) => {
            let mut sorted: Vec<_> = fields.iter().map(field).collect();
            sorted.sort_by(|x, y| x.name().cmp(y.name()));
            DataType::Struct(sorted.into())
        }
        DataType::List(f) => DataType::List(field(f)),
        DataType::LargeList(f) => DataType::LargeList(field(f)),
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(field(f), *n),
        DataType::Map(f, sorted) => DataType::Map(field(f), *sorted),
        other => other.clone(),
    }
}

fn type_name(dt: &DataType) -> String {
    dt.to_string()
}

/// A column name that appears twice in a schema.
fn duplicate_name(schema: &Schema) -> Option<&str> {
    let mut seen = BTreeSet::new();
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .find(|n| !seen.insert(*n))
}

/// Cast a column of a later file to the dataset's type, refusing any value that the cast would
/// change: a narrower integer, float or unit would silently turn values into nulls or round
/// them, and two different values could then compare equal.
fn cast_exactly(array: &ArrayRef, to: &DataType, name: &str, file_url: &str) -> Result<ArrayRef> {
    let options = arrow::compute::CastOptions {
        safe: false,
        ..Default::default()
    };
    let refuse = |why: String| {
        Error::format(
            file_url,
            format!(
                "column `{name}` is {} here but {to} in the dataset's first file, and {why}",
                array.data_type()
            ),
        )
    };
    let cast = arrow::compute::cast_with_options(array, to, &options)
        .map_err(|e| refuse(format!("cannot be read as {to}: {e}")))?;
    let lossless_by_construction = matches!(
        family(to),
        Family::Utf8 | Family::Binary | Family::Boolean | Family::Null
    );
    if !lossless_by_construction {
        let back = arrow::compute::cast_with_options(&cast, array.data_type(), &options)
            .map_err(|e| refuse(format!("its values do not survive the cast: {e}")))?;
        if back.to_data() != array.to_data() {
            return Err(refuse(
                "some of its values would change; write every file of a dataset with one type"
                    .into(),
            ));
        }
    }
    Ok(cast)
}

/// Column names listed in an error before `and N more`.
const NAMES_IN_ERRORS: usize = 25;

/// `columns: `a`, `b`, `c`` (sorted, the first few; control characters as spaces), for
/// errors about a column that is not there.
fn columns_named(names: &BTreeSet<&str>) -> String {
    if names.is_empty() {
        return "no columns".to_string();
    }
    let shown: Vec<String> = names
        .iter()
        .take(NAMES_IN_ERRORS)
        .map(|n| {
            let n: String = n
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            format!("`{n}`")
        })
        .collect();
    let more = names.len().saturating_sub(NAMES_IN_ERRORS);
    if more > 0 {
        format!("columns: {}, and {more} more", shown.join(", "))
    } else {
        format!("columns: {}", shown.join(", "))
    }
}

/// A side's compared columns by their right-side name: (left name, left type) on the left.
type LeftColumns = BTreeMap<String, (String, DataType)>;
type RightColumns = BTreeMap<String, DataType>;

/// Build the plan from the two sides' schemas (partition columns included): the options
/// checked against the columns, each column present on both sides planned, the rest recorded
/// as schema changes.
pub fn plan(left: &SchemaRef, right: &SchemaRef, cfg: &DiffConfig) -> Result<Plan> {
    for (side, schema) in [("left", left), ("right", right)] {
        if let Some(name) = duplicate_name(schema) {
            return Err(Error::Schema(format!(
                "the {side} side has two columns named `{name}`; parity cannot tell them apart"
            )));
        }
    }
    let left_names: BTreeSet<&str> = left.fields().iter().map(|f| f.name().as_str()).collect();
    let right_names: BTreeSet<&str> = right.fields().iter().map(|f| f.name().as_str()).collect();
    let renames = checked_renames(cfg, &left_names, &right_names)?;
    check_ignored(cfg, &left_names, &right_names, &renames)?;
    let (lefts, rights) = compared_columns(left, right, cfg, &renames);
    check_keys(cfg, &lefts, &rights)?;
    check_tolerances(cfg, &lefts, &rights)?;
    let (columns, changes) = match_columns((left, right), (&lefts, &rights), cfg)?;
    if columns.is_empty() {
        return Err(nothing_in_common(&changes));
    }
    let key = cfg
        .key
        .iter()
        .map(|k| {
            columns
                .iter()
                .position(|c| &c.name == k)
                .expect("key checked above")
        })
        .collect();
    let schema_of = |ty: fn(&PlanColumn) -> &DataType| {
        Arc::new(Schema::new(
            columns
                .iter()
                .map(|c| Field::new(&c.name, ty(c).clone(), true))
                .collect::<Vec<_>>(),
        ))
    };
    let (left_schema, right_schema) = (schema_of(|c| &c.left_type), schema_of(|c| &c.right_type));
    Ok(Plan {
        columns,
        key,
        changes,
        left_schema,
        right_schema,
        left_names: left_names.iter().map(|n| n.to_string()).collect(),
        right_names: right_names.iter().map(|n| n.to_string()).collect(),
    })
}

/// `--rename` as left name → right name, each naming a column of its side and not taking the
/// name of another left column.
fn checked_renames<'a>(
    cfg: &'a DiffConfig,
    left_names: &BTreeSet<&str>,
    right_names: &BTreeSet<&str>,
) -> Result<BTreeMap<&'a str, &'a str>> {
    let mut renames: BTreeMap<&str, &str> = BTreeMap::new();
    for (l, r) in &cfg.rename {
        if !left_names.contains(l.as_str()) {
            return Err(Error::Invalid(format!(
                "--rename {l}={r}: the left side has no column `{l}` ({})",
                columns_named(left_names)
            )));
        }
        if !right_names.contains(r.as_str()) {
            return Err(Error::Invalid(format!(
                "--rename {l}={r}: the right side has no column `{r}` ({})",
                columns_named(right_names)
            )));
        }
        renames.insert(l.as_str(), r.as_str());
    }
    for (l, r) in &cfg.rename {
        let taken = left_names.contains(r.as_str()) && !renames.contains_key(r.as_str());
        if taken && l != r {
            return Err(Error::Invalid(format!(
                "--rename {l}={r}: the left side already has a column `{r}`; rename or --ignore it too"
            )));
        }
    }
    Ok(renames)
}

/// Every `--ignore` names a column of one side (a left column by its new name counts).
fn check_ignored(
    cfg: &DiffConfig,
    left_names: &BTreeSet<&str>,
    right_names: &BTreeSet<&str>,
    renames: &BTreeMap<&str, &str>,
) -> Result<()> {
    for col in &cfg.ignore {
        let on_left = left_names.contains(col.as_str()) || renames.values().any(|r| r == col);
        if !on_left && !right_names.contains(col.as_str()) {
            let both: BTreeSet<&str> = left_names.union(right_names).copied().collect();
            return Err(Error::Invalid(format!(
                "--ignore {col}: neither side has a column `{col}` ({})",
                columns_named(&both)
            )));
        }
    }
    Ok(())
}

/// Each side's columns not ignored, by the name they are compared under (a renamed left
/// column under its right-side name).
fn compared_columns(
    left: &SchemaRef,
    right: &SchemaRef,
    cfg: &DiffConfig,
    renames: &BTreeMap<&str, &str>,
) -> (LeftColumns, RightColumns) {
    let ignored = |name: &str| cfg.ignore.iter().any(|c| c == name);
    let mut lefts = LeftColumns::new();
    for f in left.fields() {
        let name = renames
            .get(f.name().as_str())
            .copied()
            .unwrap_or(f.name())
            .to_string();
        if ignored(f.name()) || ignored(&name) {
            continue;
        }
        lefts.insert(name, (f.name().clone(), f.data_type().clone()));
    }
    let rights = right
        .fields()
        .iter()
        .filter(|f| !ignored(f.name()))
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    (lefts, rights)
}

/// Every `--key` column is on both sides, not ignored, and of comparable types.
fn check_keys(cfg: &DiffConfig, lefts: &LeftColumns, rights: &RightColumns) -> Result<()> {
    for k in &cfg.key {
        if cfg.ignore.iter().any(|c| c == k) {
            return Err(Error::Invalid(format!(
                "--key {k}: a key column cannot also be ignored"
            )));
        }
        match (lefts.get(k), rights.get(k)) {
            (None, _) => {
                if let Some((_, r)) = cfg.rename.iter().find(|(l, _)| l == k) {
                    return Err(Error::Invalid(format!(
                        "--key {k}: `{k}` is renamed `{r}` by --rename; keys are named as on the right side (--key {r})"
                    )));
                }
                return Err(Error::Schema(format!(
                    "key column `{k}` is missing on the left side ({})",
                    columns_named(&lefts.keys().map(String::as_str).collect())
                )));
            }
            (_, None) => {
                return Err(Error::Schema(format!(
                    "key column `{k}` is missing on the right side ({})",
                    columns_named(&rights.keys().map(String::as_str).collect())
                )))
            }
            (Some((_, lt)), Some(rt)) => {
                let (lf, rf) = (family(lt), family(rt));
                if lf != rf && lf != Family::Null && rf != Family::Null {
                    return Err(Error::Schema(format!(
                        "key column `{k}` cannot be compared: {lt} on the left, {rt} on the right"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Every `--tol COLUMN=…` names a column of one side.
fn check_tolerances(cfg: &DiffConfig, lefts: &LeftColumns, rights: &RightColumns) -> Result<()> {
    for col in cfg.tolerance.columns.keys() {
        if !rights.contains_key(col) && !lefts.contains_key(col) {
            let both: BTreeSet<&str> = lefts
                .keys()
                .chain(rights.keys())
                .map(String::as_str)
                .collect();
            return Err(Error::Invalid(format!(
                "--tol {col}=…: no column `{col}` on either side ({})",
                columns_named(&both)
            )));
        }
    }
    Ok(())
}

/// Whether column `name` of `schema` holds JSON numbers read as the text of their numbers (see
/// `source::reader`): against plain text, a number and a string with the same characters are
/// not the same value.
fn number_text(schema: &SchemaRef, name: &str) -> bool {
    schema
        .field_with_name(name)
        .is_ok_and(crate::source::typing::is_number_text)
}

/// Whether column `name` of `schema` is a text column with no value (see `source::typing`):
/// it has no type to change.
fn untyped(schema: &SchemaRef, name: &str) -> bool {
    schema
        .field_with_name(name)
        .is_ok_and(crate::source::typing::is_untyped)
}

/// Every column name of either side, in name order: a planned column when it is on both sides
/// with compatible types, else a schema change (a type changed, or a column on one side only).
fn match_columns(
    (left, right): (&SchemaRef, &SchemaRef),
    (lefts, rights): (&LeftColumns, &RightColumns),
    cfg: &DiffConfig,
) -> Result<(Vec<PlanColumn>, Vec<SchemaChange>)> {
    let mut columns = Vec::new();
    let mut changes = Vec::new();
    let all: BTreeSet<&String> = lefts.keys().chain(rights.keys()).collect();
    for name in all {
        match (lefts.get(name), rights.get(name)) {
            (Some((left_name, lt)), Some(rt))
                if number_text(left, left_name) != number_text(right, name)
                    && !untyped(left, left_name)
                    && !untyped(right, name) =>
            {
                if cfg.key.contains(name) {
                    return Err(Error::Schema(format!(
                        "key column `{name}` cannot be compared: JSON numbers on one side, text on the other"
                    )));
                }
                let described = |t: &DataType, numbers: bool| {
                    let t = type_name(t);
                    if numbers {
                        format!("{t} (JSON numbers)")
                    } else {
                        t
                    }
                };
                changes.push(SchemaChange {
                    column: name.clone(),
                    kind: SchemaChangeKind::TypeChanged,
                    left_type: Some(described(lt, number_text(left, left_name))),
                    right_type: Some(described(rt, number_text(right, name))),
                    divergent: true,
                });
            }
            (Some((left_name, lt)), Some(rt)) => {
                let compatible = crate::fingerprint::encoding::compatible(lt, rt);
                if !same_logical_type(lt, rt) && !untyped(left, left_name) && !untyped(right, name)
                {
                    changes.push(SchemaChange {
                        column: name.clone(),
                        kind: SchemaChangeKind::TypeChanged,
                        left_type: Some(type_name(lt)),
                        right_type: Some(type_name(rt)),
                        divergent: !compatible || cfg.strict_types,
                    });
                }
                if compatible {
                    columns.push(plan_column(name, left_name, (lt, rt), cfg)?);
                }
            }
            // A JSON-lines side that never writes a field holds the nulls the other side writes.
            (Some((left_name, _)), None)
                if untyped(left, left_name) && crate::source::typing::absent_is_null(right) => {}
            (None, Some(_))
                if untyped(right, name) && crate::source::typing::absent_is_null(left) => {}
            (Some((_, lt)), None) => changes.push(SchemaChange {
                column: name.clone(),
                kind: SchemaChangeKind::OnlyLeft,
                left_type: Some(type_name(lt)),
                right_type: None,
                divergent: true,
            }),
            (None, Some(rt)) => changes.push(SchemaChange {
                column: name.clone(),
                kind: SchemaChangeKind::OnlyRight,
                left_type: None,
                right_type: Some(type_name(rt)),
                divergent: true,
            }),
            (None, None) => unreachable!("name comes from one of the sides"),
        }
    }
    Ok((columns, changes))
}

/// A column on both sides with compatible types, with its tolerance: `--tol` for it (float and
/// decimal columns only), else the default tolerance for a float column.
fn plan_column(
    name: &str,
    left_name: &str,
    (lt, rt): (&DataType, &DataType),
    cfg: &DiffConfig,
) -> Result<PlanColumn> {
    let (lf, rf) = (family(lt), family(rt));
    let fam = if lf == Family::Null { rf } else { lf };
    let tolerance = match cfg.tolerance.columns.get(name) {
        Some(t) => {
            if fam != Family::Float && fam != Family::Decimal {
                return Err(Error::Invalid(format!(
                    "--tol {name}=…: tolerances apply to float and decimal columns; `{name}` is {rt}"
                )));
            }
            Some(*t)
        }
        None if fam == Family::Float && !cfg.tolerance.default.is_zero() => {
            Some(cfg.tolerance.default)
        }
        None => None,
    };
    Ok(PlanColumn {
        name: name.to_string(),
        left_name: left_name.to_string(),
        left_type: decoded_type(lt),
        right_type: decoded_type(rt),
        family: fam,
        is_key: cfg.key.iter().any(|k| k == name),
        tolerance,
    })
}

/// The error when no column compares, naming what each common column became.
fn nothing_in_common(changes: &[SchemaChange]) -> Error {
    let changed: Vec<String> = changes
        .iter()
        .filter(|c| c.kind == SchemaChangeKind::TypeChanged)
        .take(5)
        .map(|c| {
            format!(
                "`{}` is {} on the left and {} on the right",
                c.column,
                c.left_type.as_deref().unwrap_or("?"),
                c.right_type.as_deref().unwrap_or("?")
            )
        })
        .collect();
    let why = if changed.is_empty() {
        String::new()
    } else {
        format!(" ({})", changed.join("; "))
    };
    Error::Schema(format!(
        "the two sides have no column in common to compare{why}"
    ))
}

/// Which side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The legacy side.
    Left,
    /// The target side.
    Right,
}

impl Side {
    /// `left` or `right`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
        }
    }
}

impl Plan {
    /// Project one decoded batch of a file of `side` onto the compared columns, adding the
    /// file's Hive partition values and casting to the side's types (a later file of a
    /// dataset may use another width of the same family).
    pub fn project(
        &self,
        side: Side,
        batch: &RecordBatch,
        partition_values: &[(String, Option<String>)],
        file_url: &str,
    ) -> Result<RecordBatch> {
        let (target, known) = match side {
            Side::Left => (&self.left_schema, &self.left_names),
            Side::Right => (&self.right_schema, &self.right_names),
        };
        let n = batch.num_rows();
        same_columns(&batch.schema(), known, file_url)?;
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for (col, field) in self.columns.iter().zip(target.fields()) {
            let source_name = match side {
                Side::Left => &col.left_name,
                Side::Right => &col.name,
            };
            let array = source_column(batch, source_name, partition_values, file_url)?;
            arrays.push(as_planned(array, field, source_name, file_url)?);
        }
        RecordBatch::try_new_with_options(
            projected_schema(target, &arrays),
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )
        .map_err(|e| Error::format(file_url, e))
    }
}

/// A later file's columns are those of the dataset's first file (`known`), each named once.
fn same_columns(schema: &Schema, known: &BTreeSet<String>, file_url: &str) -> Result<()> {
    if let Some(name) = duplicate_name(schema) {
        return Err(Error::format(
            file_url,
            format!("two columns are named `{name}`"),
        ));
    }
    if let Some(extra) = schema.fields().iter().find(|f| !known.contains(f.name())) {
        return Err(Error::format(
            file_url,
            format!(
                "column `{}` is not in the dataset's first file; every file of a dataset must have the same columns",
                extra.name()
            ),
        ));
    }
    Ok(())
}

/// Column `name` of a batch, or the file's Hive partition value of that name on every row.
fn source_column(
    batch: &RecordBatch,
    name: &str,
    partition_values: &[(String, Option<String>)],
    file_url: &str,
) -> Result<ArrayRef> {
    if let Ok(i) = batch.schema().index_of(name) {
        return Ok(batch.column(i).clone());
    }
    match partition_values.iter().find(|(k, _)| k == name) {
        Some((_, v)) => Ok(Arc::new(StringArray::from(vec![
            v.as_deref();
            batch.num_rows()
        ]))),
        None => Err(Error::format(
            file_url,
            format!("column `{name}` is missing (the dataset's first file has it)"),
        )),
    }
}

/// A column in the plan's type for it: as it is when it has that type (or is a string view of a
/// string column), all nulls when it is of type Null, cast exactly within its family, else an
/// error naming the file.
fn as_planned(array: ArrayRef, field: &Field, name: &str, file_url: &str) -> Result<ArrayRef> {
    if array.data_type() == field.data_type()
        || (array.data_type() == &DataType::Utf8View
            && matches!(field.data_type(), DataType::Utf8 | DataType::LargeUtf8))
    {
        // Strings read as views stay views: they hash the same, and only the rows kept for
        // tier 3 are ever copied out (see `spool::attach`).
        return Ok(array);
    }
    if array.data_type() == &DataType::Null {
        return Ok(new_null_array(field.data_type(), array.len()));
    }
    if family(field.data_type()) == Family::Null {
        // The first file only had nulls here, so its type says nothing: a misfit (the engine
        // takes the types from every file) rather than values read as nulls.
        return Err(Error::misfit(
            file_url,
            format!(
                "column `{name}` holds {} values here but only nulls (type Null) in the dataset's first file; parity cannot tell which type to compare",
                array.data_type()
            ),
        ));
    }
    if crate::fingerprint::encoding::compatible(array.data_type(), field.data_type())
        && family(array.data_type()) == family(field.data_type())
    {
        // `compatible` also requires nested struct fields to have the same names: a cast would
        // otherwise pair fields by position.
        return cast_exactly(&array, field.data_type(), name, file_url);
    }
    Err(Error::format(
        file_url,
        format!(
            "column `{name}` is {} here but {} in the dataset's first file",
            array.data_type(),
            field.data_type()
        ),
    ))
}

/// The side's schema, with the types of columns kept as string views where they are.
fn projected_schema(target: &SchemaRef, arrays: &[ArrayRef]) -> SchemaRef {
    let kept_views = target
        .fields()
        .iter()
        .zip(arrays)
        .any(|(f, a)| f.data_type() != a.data_type());
    if !kept_views {
        return target.clone();
    }
    let fields: Vec<Field> = target
        .fields()
        .iter()
        .zip(arrays)
        .map(|(f, a)| f.as_ref().clone().with_data_type(a.data_type().clone()))
        .collect();
    Arc::new(Schema::new_with_metadata(fields, target.metadata().clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapper_names_and_nested_nullability_are_layout_not_type() {
        let list = |name: &str, nullable: bool| {
            DataType::List(Arc::new(Field::new(name, DataType::Int32, nullable)))
        };
        assert!(same_logical_type(
            &list("element", true),
            &list("item", true)
        ));
        assert!(same_logical_type(
            &list("array", false),
            &list("element", true)
        ));
        assert!(!same_logical_type(
            &list("item", true),
            &DataType::List(Arc::new(Field::new("item", DataType::Int64, true)))
        ));
        let map = |entries: &str, key: &str, value: &str, value_type: DataType| {
            DataType::Map(
                Arc::new(Field::new(
                    entries,
                    DataType::Struct(
                        vec![
                            Field::new(key, DataType::Utf8, false),
                            Field::new(value, value_type, true),
                        ]
                        .into(),
                    ),
                    false,
                )),
                false,
            )
        };
        let spark = map("key_value", "key", "value", DataType::Int64);
        assert!(same_logical_type(
            &spark,
            &map("entries", "keys", "values", DataType::Int64)
        ));
        assert!(crate::fingerprint::encoding::compatible(
            &spark,
            &map("map", "k", "v", DataType::Int32)
        ));
        assert!(!same_logical_type(
            &spark,
            &map("key_value", "key", "value", DataType::Utf8)
        ));
        // A struct's field names are data.
        let point = |x: &str| DataType::Struct(vec![Field::new(x, DataType::Int32, true)].into());
        assert!(!same_logical_type(&point("x"), &point("y")));
        assert!(!same_logical_type(
            &list("item", true),
            &DataType::List(Arc::new(Field::new("item", point("x"), true)))
        ));
    }

    fn schema(fields: &[(&str, DataType)]) -> SchemaRef {
        Arc::new(Schema::new(
            fields
                .iter()
                .map(|(n, t)| Field::new(*n, t.clone(), true))
                .collect::<Vec<_>>(),
        ))
    }

    #[test]
    fn compatible_and_incompatible_changes() {
        let l = schema(&[
            ("id", DataType::Int32),
            ("a", DataType::Utf8),
            ("b", DataType::Int64),
            ("gone", DataType::Utf8),
        ]);
        let r = schema(&[
            ("id", DataType::Int64),
            ("a", DataType::LargeUtf8),
            ("b", DataType::Utf8),
            ("new", DataType::Utf8),
        ]);
        let cfg = DiffConfig {
            key: vec!["id".into()],
            ..Default::default()
        };
        let p = plan(&l, &r, &cfg).unwrap();
        let names: Vec<_> = p.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "id"]);
        assert_eq!(p.key, vec![1]);
        let kinds: Vec<_> = p
            .changes
            .iter()
            .map(|c| (c.column.as_str(), c.kind, c.divergent))
            .collect();
        assert_eq!(
            kinds,
            [
                ("b", SchemaChangeKind::TypeChanged, true),
                ("gone", SchemaChangeKind::OnlyLeft, true),
                ("id", SchemaChangeKind::TypeChanged, false),
                ("new", SchemaChangeKind::OnlyRight, true),
            ]
        );
        let strict = DiffConfig {
            strict_types: true,
            ..cfg
        };
        let p = plan(&l, &r, &strict).unwrap();
        assert!(p.changes.iter().all(|c| c.divergent));
    }

    #[test]
    fn rename_ignore_and_key_errors() {
        let l = schema(&[
            ("id", DataType::Int64),
            ("amount", DataType::Float64),
            ("ts", DataType::Utf8),
        ]);
        let r = schema(&[("id", DataType::Utf8), ("amt", DataType::Float64)]);
        let cfg = DiffConfig {
            rename: vec![("amount".into(), "amt".into())],
            ignore: vec!["ts".into()],
            ..Default::default()
        };
        let p = plan(&l, &r, &cfg).unwrap();
        assert_eq!(p.columns.iter().filter(|c| c.name == "amt").count(), 1);
        assert!(p.changes.iter().all(|c| c.column == "id"));
        let keyed = DiffConfig {
            key: vec!["id".into()],
            ..cfg.clone()
        };
        let e = plan(&l, &r, &keyed).unwrap_err().to_string();
        assert!(e.contains("key column `id` cannot be compared"), "{e}");
        let missing = DiffConfig {
            key: vec!["amount".into()],
            ..Default::default()
        };
        let e = plan(&l, &r, &missing).unwrap_err().to_string();
        assert!(e.contains("missing on the right"), "{e}");
        let typo = DiffConfig {
            ignore: vec!["nope".into()],
            ..Default::default()
        };
        assert!(plan(&l, &r, &typo).is_err());
    }
}
