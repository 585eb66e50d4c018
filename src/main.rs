use std::process::ExitCode;

use clap::Parser;

use dbguard::cli::Cli;
use dbguard::output::{text_paint, Palette};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let palette = Palette::new(dbguard::commands::use_color_stderr(cli.color));
    match dbguard::commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("{} {}", text_paint(palette.error, "error:"), err.message);
            if let Some(help) = &err.help {
                eprintln!("  {} {help}", text_paint(palette.help, "help:"));
            }
            ExitCode::from(err.exit.code())
        }
    }
}
