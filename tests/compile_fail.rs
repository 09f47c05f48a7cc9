//! The macro's contract at compile time: misuse is reported at the right tokens with a message
//! that states the rule and the fix (`compile_fail/`), and valid endpoints, including one built by
//! a `macro_rules!`, compile and register (`compile_pass/`).
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test --test compile_fail`, then
//! read every changed `.stderr`.

#[test]
fn compile_fail() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile_fail/*.rs");
    cases.pass("tests/compile_pass/*.rs");
}
