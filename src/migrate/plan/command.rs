//! Command translation: a legacy task's type, program and JSON arguments → an orc command
//! line and shell, quoted by [`crate::quote`] for the target platform.

use serde_json::Value;

use super::Target;
use crate::task::Shell;

/// The command line and shell for a legacy task's type, program and arguments.
pub fn command_line(
    kind: &str,
    program: &str,
    args: &[String],
    target: Target,
) -> Result<(String, Shell), String> {
    let (shell, quote): (Shell, fn(&str) -> String) = match target {
        Target::Windows => (Shell::Cmd, crate::quote::cmd_arg),
        Target::Unix => (Shell::Sh, crate::quote::sh_arg),
    };
    let lower = program.to_ascii_lowercase();
    let mut parts: Vec<String> = match kind {
        "python" => {
            let py = if target == Target::Windows { "python.exe" } else { "python3" };
            let script = match target {
                // Always quoted on Windows, as the legacy tool's users expect to see it.
                Target::Windows => format!("\"{}\"", program.replace('"', "\\\"")),
                Target::Unix => quote(program),
            };
            vec![py.to_string(), script]
        }
        "script" if lower.ends_with(".ps1") => {
            let ps = if target == Target::Windows { "powershell.exe" } else { "pwsh" };
            vec![
                ps.into(),
                "-NoProfile".into(),
                "-ExecutionPolicy".into(),
                "Bypass".into(),
                "-File".into(),
                quote(program),
            ]
        }
        "script" if lower.ends_with(".py") => {
            return command_line("python", program, args, target);
        }
        "command" | "script" => vec![quote(program)],
        other => return Err(format!("unknown legacy task type {other:?}")),
    };
    parts.extend(args.iter().map(|a| quote(a)));
    Ok((parts.join(" "), shell))
}

/// The legacy `arguments` column (a JSON list) as arguments.
pub(super) fn json_args(text: Option<&str>) -> Result<Vec<String>, String> {
    let Some(text) = json_column(text) else {
        return Ok(Vec::new());
    };
    let value: Value = serde_json::from_str(text).map_err(|e| format!("arguments: {e}"))?;
    let Value::Array(items) = value else {
        return Err(format!("arguments {text:?} are not a JSON list"));
    };
    items
        .into_iter()
        .map(|v| match v {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(format!("argument {other} is not a string")),
        })
        .collect()
}

/// A legacy JSON column's text, when it holds something (not empty, not `null`).
pub(super) fn json_column(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|s| !s.is_empty() && *s != "null")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_per_type_and_platform() {
        let args = vec!["--since".to_string(), "yester day".to_string()];
        assert_eq!(
            command_line("python", r"C:\s\sales.py", &args, Target::Windows).unwrap(),
            (r#"python.exe "C:\s\sales.py" --since "yester day""#.into(), Shell::Cmd)
        );
        assert_eq!(
            command_line("python", "/opt/s.py", &args, Target::Unix).unwrap(),
            ("python3 /opt/s.py --since 'yester day'".into(), Shell::Sh)
        );
        assert_eq!(
            command_line("command", r"C:\Program Files\x.exe", &[], Target::Windows).unwrap().0,
            r#""C:\Program Files\x.exe""#
        );
        assert!(
            command_line("script", r"C:\a.ps1", &[], Target::Windows)
                .unwrap()
                .0
                .ends_with(r"-File C:\a.ps1")
        );
        assert!(command_line("java", "x", &[], Target::Windows).is_err());
    }
}
