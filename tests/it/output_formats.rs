//! `--output table|tsv|json` for `run` and the REPL (issue 16, item 2), and `identity::report`
//! keeping its columns for long names.

use std::io::Write;
use std::process::Stdio;

use crate::harness::cli::HANG;
use crate::harness::snapshot::assert_transcript;
use crate::harness::{Transcript, Vmssid};

/// A scale set name of 64 characters (ARM allows that many), created next to the fixture's.
const LONG: &str = "scale-set-of-the-payments-team-in-west-europe-for-batch-workers1";

fn create_long() -> String {
    format!(
        r#"let users = #{{}}; users[user_identity("myResourceGroup", "ID2")] = #{{}};
        create_vmss("myResourceGroup", "{LONG}", #{{ location: "eastus", identity: #{{ type: "UserAssigned", userAssignedIdentities: users }} }});"#
    )
}

fn run(format: &str, script: &str) -> crate::harness::Run {
    Vmssid::new(["run", "--emulator", "--output", format, "-e", script]).run()
}

#[test]
fn scale_sets_and_vms_as_table_tsv_and_json() {
    let script = format!("{} list_vmss() + list_vms()", create_long());
    let runs = [run("table", &script), run("tsv", &script), run("json", "list_vms()")];
    for r in &runs {
        assert!(r.status.success(), "{}", r.stderr());
    }
    // Not a terminal: nothing is cut, each item is one line.
    let table = runs[0].stdout();
    assert!(table.lines().any(|l| l.starts_with(LONG) && l.ends_with("ID2")), "{table}");
    let tsv = runs[1].stdout();
    assert_eq!(tsv.lines().next(), Some("name\tresource_group\tkind\ttype\tuser_identities"), "{tsv}");
    assert!(tsv.lines().all(|l| l.split('\t').count() == 5), "{tsv}");
    assert_transcript!("scale_sets_and_vms", Transcript::of_all(&runs));
}

#[test]
fn reports_role_assignments_and_other_lists_get_their_columns() {
    let enable = r#"let v = get_vmss("myResourceGroup", "myVMSS");
        [enable_system(v, #{ roles: [#{ role: "Reader", scope: resource_group_id("myResourceGroup") }] }),
         add_user(v, user_identity("myResourceGroup", "ID2"))]"#;
    let roles = r#"enable_system("myResourceGroup", "myVMSS", #{ roles: [#{ role: "Reader", scope: resource_group_id("myResourceGroup") }] });
        role_assignments(get_vmss("myResourceGroup", "myVMSS"))"#;
    let runs = [
        run("table", enable),
        run("table", roles),
        run("table", "list_user_identities()"),
        run("table", r#"[#{ a: 1, b: "x" }, #{ c: [1, 2] }]"#),
        run("table", r#""a scalar prints as text does""#),
        run("tsv", "[]"),
    ];
    for r in &runs {
        assert!(r.status.success(), "{}", r.stderr());
    }
    assert_transcript!("reports_and_lists", Transcript::of_all(&runs));
}

#[test]
fn tsv_escapes_tabs_and_line_breaks_and_print_goes_to_stderr() {
    let out = run("tsv", r#"print("progress"); [#{ name: "a\tb", note: "two\nlines", path: "c:\\x" }]"#);
    assert!(out.status.success(), "{}", out.stderr());
    assert_eq!(out.stdout(), "name\tnote\tpath\na\\tb\ttwo\\nlines\tc:\\\\x\n");
    assert_eq!(out.stderr(), "progress\n");
}

#[test]
fn a_script_file_prints_its_value_as_a_table() {
    // In text a file's final value is not printed; asked for a table, it is.
    let out = Vmssid::new(["run", "--emulator", "--output", "table", "scripts/audit.rhai"]).run();
    assert!(out.status.success(), "{}", out.stderr());
    let stdout = out.stdout();
    assert!(
        stdout.ends_with("BOTH  NONE  SYSTEM  USER\n----- ----- ------- -----\n0     0     0       2\n"),
        "{stdout}"
    );
}

#[test]
fn identity_report_keeps_its_columns_for_long_names() {
    let script = format!(
        r#"import "vmssid/identity" as id; {} print(id::report(list_vmss() + list_vms()));"#,
        create_long()
    );
    let out = Vmssid::new(["run", "--emulator", "-e", &script]).run();
    assert!(out.status.success(), "{}", out.stderr());
    let stdout = out.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    // Every column starts where its title does, whatever the names' length.
    for title in ["KIND", "RESOURCE GROUP", "TYPE", "USER IDENTITIES"] {
        let column = lines[0].find(title).unwrap_or_else(|| panic!("{title} in {stdout}"));
        for line in &lines[1..] {
            let before = &line[..column];
            assert!(
                before.ends_with("  ") && !line[column..].starts_with(' '),
                "{title} misaligned:\n{stdout}"
            );
        }
    }
    assert!(lines.iter().any(|l| l.starts_with(LONG)), "{stdout}");
}

#[test]
fn the_repl_prints_results_in_the_format_chosen_by_flag_or_dot_command() {
    let input = ".output\nlist_vms()\n.output table\nlist_vms()\n.output json\n\"text\"\n.output csv\n";
    let mut repl = Vmssid::new(["repl", "--emulator", "--output", "tsv"]).stdin(Stdio::piped()).spawn();
    let mut stdin = repl.child.stdin.take().expect("stdin is piped");
    stdin.write_all(input.as_bytes()).expect("input written");
    drop(stdin);
    let out = repl.finish(HANG);
    let mut transcript = Transcript::new();
    transcript.note(&format!("stdin:\n{input}"));
    transcript.push(&out);
    assert!(
        out.stdout().contains("name\tresource_group\tkind\ttype\tuser_identities\nmyVM\t"),
        "{}",
        out.stdout()
    );
    assert_transcript!("repl", transcript);
}
