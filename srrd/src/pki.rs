//! `srrd pki`: certificates for the HTTPS API (docs/certificates.md).

use std::path::PathBuf;
use std::process::ExitCode;

use srrd::web::{pki, Role};

#[derive(clap::Args)]
pub struct PkiArgs {
    /// Directory holding ca.crt and ca.key; new files are written here.
    #[arg(long, default_value = "/etc/srrd/pki")]
    dir: PathBuf,
    /// Validity in days.
    #[arg(long)]
    days: Option<u32>,
    #[command(subcommand)]
    command: PkiCommand,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Operator,
    Viewer,
}

#[derive(clap::Subcommand)]
enum PkiCommand {
    /// Create the cluster CA (ca.crt, ca.key); default 10 years.
    Init {
        #[arg(long, default_value = "srrd cluster CA")]
        name: String,
    },
    /// A client certificate NAME.crt/NAME.key with the role in its OU; default 1 year.
    Issue {
        #[arg(long, value_enum)]
        role: RoleArg,
        name: String,
    },
    /// The HTTPS certificate NODE.crt/NODE.key of a node; default 2 years.
    Server {
        node: String,
        /// An IP address clients use to reach the node (repeatable).
        #[arg(long)]
        ip: Vec<std::net::IpAddr>,
        /// A DNS name clients use to reach the node (repeatable).
        #[arg(long)]
        dns: Vec<String>,
    },
}

pub fn run(args: PkiArgs) -> ExitCode {
    let dir = &args.dir;
    let written = match args.command {
        PkiCommand::Init { name } => pki::init(dir, &name, args.days.unwrap_or(3650)),
        PkiCommand::Issue { role, name } => {
            let role = match role {
                RoleArg::Operator => Role::Operator,
                RoleArg::Viewer => Role::Viewer,
            };
            pki::client(dir, &name, role, args.days.unwrap_or(365))
        }
        PkiCommand::Server { node, ip, dns } => {
            if ip.is_empty() && dns.is_empty() {
                eprintln!("srrd pki server: give at least one --ip or --dns");
                return ExitCode::from(2);
            }
            let sans: Vec<String> = ip.iter().map(|a| a.to_string()).chain(dns).collect();
            pki::server(dir, &node, &sans, args.days.unwrap_or(730))
        }
    };
    match written {
        Ok(cert) => {
            let key = cert.with_extension("key");
            println!("wrote {} and {} (mode 0600)", cert.display(), key.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("srrd pki: {e}");
            ExitCode::FAILURE
        }
    }
}
