//! The embedding example (examples/in_process.rs) runs as part of the tests, so CI keeps it
//! working.

#[allow(dead_code)] // its `main`
#[path = "../../examples/in_process.rs"]
mod in_process;

#[test]
fn the_in_process_example_reads_the_demo_identity() {
    let identity = in_process::run().unwrap_or_else(|e| panic!("examples/in_process.rs: {e}"));
    assert_eq!(identity["type"], "UserAssigned", "{identity}");
    let users = identity["userAssignedIdentities"].as_object().map(|m| m.len());
    assert_eq!(users, Some(1), "the demo scale set holds ID1 only: {identity}");
}
