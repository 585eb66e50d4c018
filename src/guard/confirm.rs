//! The confirmation questions of the guard, and which answers confirm. `run` asks them with
//! dialoguer on its own terminal; `dbguard psql` asks them on /dev/tty while psql waits.

use super::Confirm;

/// The question for a confirmation (`None` when there is nothing to ask).
pub fn question(confirm: &Confirm) -> Option<String> {
    match confirm {
        Confirm::None => None,
        Confirm::YesNo => Some("Run it?".into()),
        Confirm::TypeName(db) => Some(format!(
            "This destroys data in {db}. Type the database name to run it"
        )),
    }
}

/// Whether a typed answer confirms.
pub fn accepts(confirm: &Confirm, answer: &str) -> bool {
    let answer = answer.trim();
    match confirm {
        Confirm::None => true,
        Confirm::YesNo => matches!(answer.to_ascii_lowercase().as_str(), "y" | "yes"),
        Confirm::TypeName(db) => answer == db,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_name_or_a_yes_confirms() {
        let name = Confirm::TypeName("app_dev".into());
        assert!(accepts(&name, "app_dev\n"));
        assert!(!accepts(&name, "APP_DEV"));
        assert!(!accepts(&name, ""));
        assert!(accepts(&Confirm::YesNo, "Yes"));
        assert!(!accepts(&Confirm::YesNo, ""));
        assert!(question(&Confirm::None).is_none());
    }
}
