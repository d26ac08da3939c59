//! Tables for a terminal, laid out by `comfy-table`.
//!
//! Every text table of the cutover commands (`run`, `report`, `history`, `inventory`,
//! `lineage`) goes through [`write`]. comfy-table measures cells by their display width and
//! applies colour after the layout, so a coloured cell never pushes its column out of line.
//! On a terminal ([`Screen::width`] set) the table is fitted to the width: columns marked
//! [`Fit::Shrink`] wrap at spaces, and a cell that would take more than [`MAX_LINES`] lines is
//! cut with `…`. Piped output ([`Screen::width`] unset) is for machines as much as people: no
//! colour, one line per row, no width limit, and no trailing spaces.

use std::io::{self, Write};

use comfy_table::presets::NOTHING;
use comfy_table::{
    Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Row, Table, Width,
};

/// How text for a terminal is drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Screen {
    /// Use ANSI colours.
    pub color: bool,
    /// Fit tables to this many columns; `None` (piped output) draws every cell whole.
    pub width: Option<u16>,
}

impl Screen {
    /// Plain text of unbounded width: what a pipe or a file gets.
    pub const PLAIN: Screen = Screen {
        color: false,
        width: None,
    };
}

/// The most lines a row may take on a terminal before its cells are cut with `…`.
pub const MAX_LINES: usize = 3;

/// Spaces between two columns.
const GAP: u16 = 2;

/// What a cell's colour says. Colour only repeats what the text says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tone {
    /// No colour.
    #[default]
    Plain,
    /// At parity, ready, GO.
    Good,
    /// On track.
    Info,
    /// Within tolerance, at risk, stale.
    Warn,
    /// Diverged, missing, an error, blocked, NO-GO.
    Bad,
    /// Inventory gaps (unowned, incomplete).
    Gap,
    /// Out of scope.
    Muted,
}

/// One cell: its text and the tone it is painted in on a colour terminal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text {
    /// The text (already made printable).
    pub text: String,
    /// Its colour.
    pub tone: Tone,
}

impl Text {
    /// A cell painted in `tone`.
    pub fn toned(text: impl Into<String>, tone: Tone) -> Self {
        Text {
            text: text.into(),
            tone,
        }
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Text {
            text,
            tone: Tone::Plain,
        }
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Text::from(text.to_string())
    }
}

/// Whether a column keeps its content's width or gives way when the terminal is narrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Ids, states, dates, counts: never wrapped (while the kept columns fit at all).
    Keep,
    /// Free text: wrapped at spaces, then cut with `…`.
    Shrink,
}

/// A column: its header (written in capitals), how it fits, and whether it may be left out.
#[derive(Debug, Clone, Copy)]
pub struct Column<'a> {
    /// The header.
    pub title: &'a str,
    /// How it fits a narrow terminal.
    pub fit: Fit,
    /// The narrowest a column that gives way is made (or its content's width, if less) before
    /// optional columns are left out instead.
    pub min: u16,
    /// When the terminal is too narrow for every column, columns with a drop rank are left
    /// out, lowest rank first; 0 is never left out.
    pub drop: u8,
}

/// The narrowest a column that gives way is made, unless it says otherwise.
const MIN_SHRUNK: u16 = 12;

/// A kept column.
pub const fn keep(title: &str) -> Column<'_> {
    Column {
        title,
        fit: Fit::Keep,
        min: 0,
        drop: 0,
    }
}

/// A column that gives way.
pub const fn shrink(title: &str) -> Column<'_> {
    Column {
        title,
        fit: Fit::Shrink,
        min: MIN_SHRUNK,
        drop: 0,
    }
}

impl Column<'_> {
    /// The same column, left out of narrow terminals at `rank` (lowest first).
    pub const fn optional(self, rank: u8) -> Self {
        Column { drop: rank, ..self }
    }

    /// The same column, never made narrower than `min` (free text worth reading).
    pub const fn at_least(self, min: u16) -> Self {
        Column { min, ..self }
    }
}

fn color_of(tone: Tone) -> Option<(Color, bool)> {
    match tone {
        Tone::Plain => None,
        Tone::Good => Some((Color::DarkGreen, false)),
        Tone::Info => Some((Color::DarkCyan, false)),
        Tone::Warn => Some((Color::DarkYellow, false)),
        Tone::Bad => Some((Color::DarkRed, true)),
        Tone::Gap => Some((Color::DarkMagenta, false)),
        Tone::Muted => Some((Color::DarkGrey, false)),
    }
}

fn cell(t: &Text, color: bool) -> Cell {
    let c = Cell::new(&t.text);
    match color_of(t.tone).filter(|_| color) {
        None => c,
        Some((fg, bold)) if bold => c.fg(fg).add_attribute(Attribute::Bold),
        Some((fg, _)) => c.fg(fg),
    }
}

/// Write a table: `indent` spaces before every line, then the header and the rows. On a
/// terminal too narrow for every column, optional columns are left out and a line under the
/// table names them.
pub fn write(
    out: &mut dyn Write,
    indent: usize,
    columns: &[Column<'_>],
    rows: &[Vec<Text>],
    screen: Screen,
) -> io::Result<()> {
    let mut table = new_table(screen);
    let header: Vec<Cell> = columns
        .iter()
        .map(|c| {
            let h = Cell::new(c.title.to_uppercase());
            if screen.color {
                h.add_attribute(Attribute::Bold)
            } else {
                h
            }
        })
        .collect();
    table.set_header(header);
    for r in rows {
        let mut row = Row::from(r.iter().map(|t| cell(t, screen.color)).collect::<Vec<_>>());
        if screen.width.is_some() {
            row.max_height(MAX_LINES);
        }
        table.add_row(row);
    }
    let last = columns.len().saturating_sub(1);
    for (i, col) in table.column_iter_mut().enumerate() {
        col.set_padding((0, if i == last { 0 } else { GAP }));
    }
    let hidden = match screen.width {
        Some(width) => fit(&mut table, columns, width.saturating_sub(indent as u16)),
        None => Vec::new(),
    };
    let pad = " ".repeat(indent);
    for line in table.lines() {
        writeln!(out, "{pad}{}", line.trim_end())?;
    }
    if !hidden.is_empty() {
        let names: Vec<String> = hidden.iter().map(|t| t.to_lowercase()).collect();
        paragraph(
            out,
            indent,
            &format!(
                "(left out at this width: {}; --format markdown shows every column)",
                names.join(", ")
            ),
            screen,
        )?;
    }
    Ok(())
}

/// Write free text, wrapped at spaces to the terminal's width (whole when piped), every line
/// after `indent` spaces.
pub fn paragraph(out: &mut dyn Write, indent: usize, text: &str, screen: Screen) -> io::Result<()> {
    let pad = " ".repeat(indent);
    let room = screen.width.map(|w| w.saturating_sub(indent as u16).max(8));
    match room {
        Some(room) if console::measure_text_width(text) > usize::from(room) => {
            let mut table = new_table(Screen {
                color: false,
                ..screen
            });
            table.add_row(vec![Cell::new(text)]);
            if let Some(col) = table.column_mut(0) {
                col.set_padding((0, 0));
            }
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(room);
            for line in table.lines() {
                writeln!(out, "{pad}{}", line.trim_end())?;
            }
            Ok(())
        }
        _ => writeln!(out, "{pad}{text}"),
    }
}

fn new_table(screen: Screen) -> Table {
    let mut table = Table::new();
    table.load_style(NOTHING);
    if screen.color {
        table.enforce_styling();
        table.style_text_only();
    } else {
        table.force_no_tty();
    }
    table
}

/// Fit `table` to `width` columns: kept columns at their content's width, the others sharing
/// the rest; when even that does not fit, optional columns are left out, lowest rank first.
/// Returns the titles of the columns left out.
fn fit<'a>(table: &mut Table, columns: &[Column<'a>], width: u16) -> Vec<&'a str> {
    table
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width)
        .set_truncation_indicator("…");
    let widths = table.column_max_content_widths();
    let need = |c: &Column<'_>, w: u16| match c.fit {
        Fit::Keep => u32::from(w) + u32::from(GAP),
        Fit::Shrink => u32::from(w.min(c.min)) + u32::from(GAP),
    };
    let mut shown: Vec<bool> = vec![true; columns.len()];
    let mut by_rank: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i].drop > 0)
        .collect();
    by_rank.sort_by_key(|&i| columns[i].drop);
    let mut ranks = by_rank.into_iter();
    let total = |shown: &[bool]| -> u32 {
        columns
            .iter()
            .zip(&widths)
            .zip(shown)
            .filter(|(_, s)| **s)
            .map(|((c, w), _)| need(c, *w))
            .sum()
    };
    while total(&shown) > u32::from(width) {
        match ranks.next() {
            Some(i) => shown[i] = false,
            None => break,
        }
    }
    let fits = total(&shown) <= u32::from(width);
    let cols = table
        .column_iter_mut()
        .zip(columns)
        .zip(&shown)
        .zip(&widths);
    for (((col, spec), show), content) in cols {
        if !show {
            col.set_constraint(ColumnConstraint::Hidden);
        } else if spec.fit == Fit::Keep && fits {
            col.set_constraint(ColumnConstraint::ContentWidth);
        } else if spec.fit == Fit::Shrink && fits {
            let least = (*content).min(spec.min).max(1);
            col.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(least)));
        }
    }
    columns
        .iter()
        .zip(&shown)
        .filter(|(_, s)| !**s)
        .map(|(c, _)| c.title)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(rows: &[Vec<Text>], screen: Screen) -> String {
        let mut out = Vec::new();
        let cols = [keep("pipeline"), keep("state"), shrink("why")];
        write(&mut out, 2, &cols, rows, screen).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn rows() -> Vec<Vec<Text>> {
        vec![
            vec![
                "orders_daily".into(),
                Text::toned("on_track", Tone::Info),
                "needs 3 more clean partitions: ready 2026-12-03 at the earliest".into(),
            ],
            vec![
                "fx".into(),
                Text::toned("blocked", Tone::Bad),
                "newest partition 2026-11-29 diverged".into(),
            ],
        ]
    }

    #[test]
    fn piped_tables_are_whole_aligned_and_plain() {
        let text = render(&rows(), Screen::PLAIN);
        assert_eq!(
            text,
            "  PIPELINE      STATE     WHY\n\
             \x20 orders_daily  on_track  needs 3 more clean partitions: ready 2026-12-03 at the earliest\n\
             \x20 fx            blocked   newest partition 2026-11-29 diverged\n"
        );
    }

    #[test]
    fn a_narrow_terminal_wraps_the_free_text_and_keeps_the_ids() {
        let screen = Screen {
            color: false,
            width: Some(50),
        };
        let text = render(&rows(), screen);
        for line in text.lines() {
            assert!(line.chars().count() <= 50, "{line:?}");
        }
        assert!(!text.contains("left out"), "{text}");
        assert!(
            text.contains("  orders_daily  on_track  needs 3 more clean"),
            "{text}"
        );
        assert!(
            text.contains("  fx            blocked   newest partition"),
            "{text}"
        );
    }

    #[test]
    fn colour_does_not_move_the_columns() {
        let screen = Screen {
            color: true,
            width: Some(200),
        };
        let text = render(&rows(), screen);
        assert!(text.contains('\x1b'), "{text}");
        let plain = console::strip_ansi_codes(&text);
        assert_eq!(plain, render(&rows(), Screen::PLAIN));
    }

    #[test]
    fn optional_columns_make_way_and_are_named() {
        let cols = [
            keep("pipeline"),
            keep("owner").optional(1),
            keep("state"),
            shrink("why"),
        ];
        let rows = vec![vec![
            "orders_daily".into(),
            "team-orders@example.com".into(),
            "on_track".into(),
            "needs 3 more clean partitions".into(),
        ]];
        let screen = Screen {
            color: false,
            width: Some(50),
        };
        let mut out = Vec::new();
        write(&mut out, 0, &cols, &rows, screen).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("team-orders"), "{text}");
        assert!(text.starts_with("PIPELINE      STATE     WHY\n"), "{text}");
        assert!(text.contains("(left out at this width: owner;"), "{text}");
        for line in text.lines() {
            assert!(line.chars().count() <= 50, "{line:?}");
        }
    }

    #[test]
    fn paragraphs_wrap_at_spaces_to_the_width() {
        let screen = Screen {
            color: false,
            width: Some(20),
        };
        let mut out = Vec::new();
        paragraph(
            &mut out,
            2,
            "holding back: orders (blocked), fx (at_risk)",
            screen,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "  holding back:\n  orders (blocked),\n  fx (at_risk)\n"
        );
        let mut out = Vec::new();
        paragraph(&mut out, 0, "short", Screen::PLAIN).unwrap();
        assert_eq!(out, b"short\n");
    }

    #[test]
    fn too_many_lines_are_cut_with_an_ellipsis() {
        let long = vec![vec![
            "p".into(),
            "s".into(),
            "word ".repeat(60).trim_end().to_string().into(),
        ]];
        let screen = Screen {
            color: false,
            width: Some(40),
        };
        let text = render(&long, screen);
        assert_eq!(text.lines().count(), 1 + MAX_LINES, "{text}");
        assert!(text.trim_end().ends_with('…'), "{text}");
    }
}
