//! `--output`: how `run` prints the script's final value and the REPL each result.

use std::io::IsTerminal;

use clap::ValueEnum;
use comfy_table::{ContentArrangement, LineStyle, Table, TableStyle};
use rhai::Dynamic;

use super::columns::{Grid, grid};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// `print` to stdout; the final value of -e scripts printed readably.
    Text,
    /// `print` to stderr; stdout holds exactly one JSON document, the script's final value.
    Json,
    /// `print` to stdout; the final value as a table fitted to the terminal (scale sets, VMs,
    /// reports, role assignments, other maps).
    Table,
    /// `print` to stderr; stdout holds a header line and one tab-separated line per item.
    Tsv,
}

impl OutputFormat {
    /// Whether `print` goes to stderr, so that stdout holds the result alone.
    pub fn prints_to_stderr(self) -> bool {
        matches!(self, Self::Json | Self::Tsv)
    }

    /// The format named `name` (`table`), for the REPL's `.output`.
    pub fn named(name: &str) -> Option<Self> {
        Self::from_str(name, true).ok()
    }

    /// The name `--output` takes.
    pub fn name(self) -> String {
        self.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
    }
}

/// `value` in `format`; an empty text means nothing is printed. Text keeps what `run -e` has
/// always printed; JSON is the whole value, `null` included.
pub fn render(value: &Dynamic, format: OutputFormat) -> Result<String, String> {
    if format == OutputFormat::Text {
        return Ok(if value.is_unit() { String::new() } else { super::render::render_value(value) });
    }
    let json = crate::host::convert::to_json(value).map_err(|e| e.to_string())?;
    Ok(match format {
        OutputFormat::Json => serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?,
        _ if value.is_unit() => String::new(),
        // Scalars print as text does: a table of one cell says nothing more.
        OutputFormat::Text | OutputFormat::Table | OutputFormat::Tsv => match grid(&json) {
            None => super::render::render_value(value),
            Some(grid) if format == OutputFormat::Tsv => tsv(&grid),
            Some(grid) => table(&grid, terminal_width()),
        },
    })
}

/// The width of the terminal stdout is, or `None` when stdout is a file or a pipe.
fn terminal_width() -> Option<u16> {
    let stdout = std::io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    terminal_size::terminal_size_of(stdout).map(|(width, _)| width.0)
}

/// No borders, a line of dashes under the titles (as `az --output table` draws it).
const STYLE: TableStyle = TableStyle::new().header_separator(LineStyle::none().fill('-').junction(' '));

/// A table with upper-case titles; within `width` (long cells wrap) when given, else every
/// cell whole.
fn table(grid: &Grid, width: Option<u16>) -> String {
    if grid.rows.is_empty() {
        return "(no items)".into();
    }
    let mut table = Table::new();
    table.load_style(STYLE);
    table.set_header(grid.keys.iter().map(|k| k.replace('_', " ").to_uppercase()));
    table.add_rows(grid.rows.iter().cloned());
    // Two spaces between columns (the junction's and the padding's), none before the first.
    for column in table.column_iter_mut() {
        column.set_padding((0, 1));
    }
    match width {
        Some(width) => table.set_width(width).set_content_arrangement(ContentArrangement::Dynamic),
        None => table.set_content_arrangement(ContentArrangement::Disabled),
    };
    table.lines().map(|line| line.trim_end().to_string()).collect::<Vec<_>>().join("\n")
}

/// A header line of keys, then one line per row; tabs, newlines and backslashes in values are
/// escaped (`\t`, `\n`, `\r`, `\\`) so that every item stays one line of as many fields.
fn tsv(grid: &Grid) -> String {
    if grid.rows.is_empty() {
        return String::new();
    }
    let line = |cells: &[String]| cells.iter().map(|c| escape(c)).collect::<Vec<_>>().join("\t");
    let mut lines = vec![line(&grid.keys)];
    lines.extend(grid.rows.iter().map(|row| line(row)));
    lines.join("\n")
}

fn escape(cell: &str) -> String {
    let mut out = String::with_capacity(cell.len());
    for c in cell.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid_of(rows: &[[&str; 3]]) -> Grid {
        Grid {
            keys: vec!["name".into(), "resource_group".into(), "user_identities".into()],
            rows: rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect(),
        }
    }

    #[test]
    fn a_table_fits_the_terminal_width_it_is_given() {
        let long = "a-scale-set-whose-name-is-long-enough-to-need-more-than-one-line-of-a-narrow-terminal";
        let grid = grid_of(&[[long, "myResourceGroup", "ID1, ID2, ID3, ID4, ID5, ID6, ID7, ID8"]]);
        let narrow = table(&grid, Some(50));
        assert!(narrow.lines().all(|l| l.chars().count() <= 50), "wider than 50:\n{narrow}");
        assert!(narrow.lines().count() > 3, "long cells wrap:\n{narrow}");
        let whole = table(&grid, None);
        assert_eq!(whole.lines().count(), 3, "not a terminal: one line per row:\n{whole}");
        assert!(whole.contains(long), "{whole}");
        assert!(whole.starts_with("NAME  "), "{whole}");
    }

    #[test]
    fn tsv_keeps_each_item_on_one_line() {
        let grid = grid_of(&[["a\tb", "line\nbreak", r"back\slash"]]);
        assert_eq!(tsv(&grid), "name\tresource_group\tuser_identities\na\\tb\tline\\nbreak\tback\\\\slash");
        assert_eq!(tsv(&grid_of(&[])), "");
    }
}
