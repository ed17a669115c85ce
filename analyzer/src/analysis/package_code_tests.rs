//! Which processes run package code (the `package_code` key), end to end
//! from strace lines: what a lifecycle script or a setup.py starts is; a
//! package manager's own children and a wrapper the trace started are not.

use crate::analysis::Context;
use crate::testutil::analyze_lines;
use report::PhaseReport;

fn installs(r: &PhaseReport) -> Vec<&str> {
    r.findings
        .iter()
        .filter(|f| f.rule == "exec-package-install" && f.is_active())
        .map(|f| f.subject.as_str())
        .collect()
}

fn ctx() -> Context {
    Context { phase: "install".into(), ..Context::default() }
}

#[test]
fn an_install_from_a_lifecycle_script_is_package_code() {
    // npm (10) runs `sh -c "npm install evil"` (11), which execs npm in
    // place; and `sh -c "node x.js"` (12), whose node starts pip (13).
    let lines = [
        r#"10 execve("/usr/bin/node", ["node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "rebuild"], 0x1 /* 1 var */) = 0"#,
        "10 clone(child_stack=NULL, flags=SIGCHLD) = 11",
        r#"11 execve("/bin/sh", ["sh", "-c", "npm install evil"], 0x1 /* 1 var */) = 0"#,
        r#"11 execve("/usr/bin/node", ["node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "install", "evil"], 0x1 /* 1 var */) = 0"#,
        "10 clone(child_stack=NULL, flags=SIGCHLD) = 12",
        r#"12 execve("/bin/sh", ["sh", "-c", "node x.js"], 0x1 /* 1 var */) = 0"#,
        r#"12 execve("/usr/bin/node", ["node", "x.js"], 0x1 /* 1 var */) = 0"#,
        "12 clone(child_stack=NULL, flags=SIGCHLD) = 13",
        r#"13 execve("/usr/bin/python3", ["python3", "-m", "pip", "install", "pycryptodome"], 0x1 /* 1 var */) = 0"#,
    ];
    let r = analyze_lines(&lines, ctx());
    assert_eq!(
        installs(&r),
        vec!["node /usr/lib/node_modules/npm/bin/npm-cli.js install evil", "python3 -m pip install pycryptodome"]
    );
}

#[test]
fn a_package_managers_own_children_and_a_wrapper_are_not_package_code() {
    // bash (10), the traced command, runs `npm install express` (11); pip
    // (20, started by it) installs its build requirements (21); npm (11)
    // prepares a git dependency with `npm install --force ...` (12).
    let lines = [
        r#"10 execve("/bin/bash", ["bash", "-c", "npm install express; pip install ./x"], 0x1 /* 1 var */) = 0"#,
        "10 clone(child_stack=NULL, flags=SIGCHLD) = 11",
        r#"11 execve("/usr/bin/node", ["node", "/usr/bin/npm", "install", "express"], 0x1 /* 1 var */) = 0"#,
        "11 clone(child_stack=NULL, flags=SIGCHLD) = 12",
        r#"12 execve("/usr/bin/node", ["node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "install", "--force", "--cache=/root/.npm"], 0x1 /* 1 var */) = 0"#,
        "10 clone(child_stack=NULL, flags=SIGCHLD) = 20",
        r#"20 execve("/usr/local/bin/pip", ["/usr/local/bin/pip", "install", "./x"], 0x1 /* 1 var */) = 0"#,
        "20 clone(child_stack=NULL, flags=SIGCHLD) = 21",
        r#"21 execve("/usr/bin/python3", ["/usr/bin/python3", "/usr/lib/python3/dist-packages/pip/__pip-runner__.py", "install", "--prefix", "/tmp/pip-build-env-1/overlay", "setuptools"], 0x1 /* 1 var */) = 0"#,
    ];
    let r = analyze_lines(&lines, ctx());
    assert_eq!(installs(&r), Vec::<&str>::new());
}
