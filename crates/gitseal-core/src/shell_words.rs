//! Splitting a command held in an environment variable (`EDITOR="code --wait"`) into
//! words the way a POSIX shell would, without running a shell: whitespace separates
//! words; single quotes keep everything literally; double quotes keep everything but
//! `\"`, `\\`, `\$`, `` \` ``; a backslash outside quotes escapes the next character.

/// The words of `s`; an error for an unterminated quote or a trailing backslash.
pub fn split(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(c) => {
                    in_word = true;
                    word.push(c);
                }
                None => return Err("trailing backslash".into()),
            },
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(split("vi").unwrap(), ["vi"]);
        assert_eq!(split("  code --wait ").unwrap(), ["code", "--wait"]);
        assert_eq!(split(r#"'/opt/My Editor/bin/ed' -n "a \"b\" \x" c\ d ''"#).unwrap(), ["/opt/My Editor/bin/ed", "-n", r#"a "b" \x"#, "c d", ""]);
        assert!(split("'open").is_err());
        assert!(split("\"open").is_err());
        assert!(split("x\\").is_err());
        assert!(split("").unwrap().is_empty());
    }
}
