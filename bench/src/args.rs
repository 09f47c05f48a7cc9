//! A small command-line parser: `--flag`, `--name value` and `--name=value`, nothing else.

use std::collections::HashMap;
use std::str::FromStr;

/// Parsed `--flag`s and `--name value`s.
#[derive(Debug, Default)]
pub struct Args {
    flags: Vec<String>,
    values: HashMap<String, Vec<String>>,
}

impl Args {
    /// Parses `args` given the known flag and value names; `--help`/`-h` is always a flag.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        flags: &[&str],
        values: &[&str],
    ) -> Result<Args, String> {
        let mut parsed = Args::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "-h" || arg == "--help" {
                parsed.flags.push("help".into());
                continue;
            }
            let Some(name) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument {arg:?}"));
            };
            let (name, inline) = match name.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (name, None),
            };
            if flags.contains(&name) && inline.is_none() {
                parsed.flags.push(name.to_owned());
            } else if values.contains(&name) {
                let value = match inline {
                    Some(value) => value,
                    None => args
                        .next()
                        .ok_or_else(|| format!("--{name} needs a value"))?,
                };
                parsed
                    .values
                    .entry(name.to_owned())
                    .or_default()
                    .push(value);
            } else {
                return Err(format!("unknown option --{name}"));
            }
        }
        Ok(parsed)
    }

    /// Whether `--name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    /// The last value of `--name`, parsed.
    pub fn value<T: FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        match self.values.get(name).and_then(|v| v.last()) {
            None => Ok(None),
            Some(raw) => raw
                .parse()
                .map(Some)
                .map_err(|_| format!("--{name}: cannot parse {raw:?}")),
        }
    }

    /// The last value of `--name`, parsed, or `default`.
    pub fn value_or<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        Ok(self.value(name)?.unwrap_or(default))
    }

    /// The last value of `--name`, which must be given.
    pub fn required<T: FromStr>(&self, name: &str) -> Result<T, String> {
        self.value(name)?
            .ok_or_else(|| format!("--{name} is required"))
    }

    /// Every value of `--name`, each split at commas.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.values
            .get(name)
            .into_iter()
            .flatten()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::parse(
            args.iter().map(|s| s.to_string()),
            &["quick"],
            &["port", "scenario"],
        )
    }

    #[test]
    fn flags_values_and_lists() {
        let a = parse(&[
            "--quick",
            "--port",
            "80",
            "--scenario=echo,idle",
            "--scenario",
            "push",
        ])
        .unwrap();
        assert!(a.flag("quick"));
        assert_eq!(a.value::<u16>("port").unwrap(), Some(80));
        assert_eq!(a.list("scenario"), ["echo", "idle", "push"]);
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--nope"]).is_err());
        assert!(parse(&["--port", "x"])
            .unwrap()
            .value::<u16>("port")
            .is_err());
    }
}
