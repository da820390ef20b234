//! Who is asking: the verified client certificate's subject and the role
//! the `[web]` role map gives it (docs/api.md, Roles).

use serde::Serialize;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::config::RoleMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The certificate subject, e.g. `CN=alice, OU=operator`.
    pub subject: String,
    /// `None`: the certificate maps to no role and is refused.
    pub role: Option<Role>,
}

impl Identity {
    /// The identity of a leaf certificate (DER) that rustls already verified.
    pub fn of(der: &[u8], roles: &RoleMap) -> Identity {
        let Ok((_, cert)) = X509Certificate::from_der(der) else {
            return Identity {
                subject: String::from("(unparsable certificate)"),
                role: None,
            };
        };
        let subject = cert.subject();
        let ous: Vec<&str> = subject
            .iter_organizational_unit()
            .filter_map(|a| a.as_str().ok())
            .collect();
        let mut names: Vec<&str> = subject
            .iter_common_name()
            .filter_map(|a| a.as_str().ok())
            .collect();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(n) | GeneralName::RFC822Name(n) => names.push(n),
                    _ => {}
                }
            }
        }
        let matches = |ou_rules: &[String], name_rules: &[String]| {
            ous.iter().any(|ou| ou_rules.iter().any(|r| r == ou))
                || names.iter().any(|n| name_rules.iter().any(|r| r == n))
        };
        let role = if matches(&roles.operator_ou, &roles.operators) {
            Some(Role::Operator)
        } else if matches(&roles.viewer_ou, &roles.viewers) {
            Some(Role::Viewer)
        } else {
            None
        };
        Identity {
            subject: subject.to_string(),
            role,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(cn: &str, ou: Option<&str>, san: &[&str]) -> Vec<u8> {
        let mut params =
            rcgen::CertificateParams::new(san.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        if let Some(ou) = ou {
            params
                .distinguished_name
                .push(rcgen::DnType::OrganizationalUnitName, ou);
        }
        let key = rcgen::KeyPair::generate().expect("key");
        params.self_signed(&key).expect("cert").der().to_vec()
    }

    #[test]
    fn roles_come_from_ou_then_names() {
        let map = RoleMap {
            operators: vec!["alice".into(), "ops.example.org".into()],
            viewers: vec!["bob".into()],
            ..RoleMap::default()
        };
        let role = |der: Vec<u8>| Identity::of(&der, &map).role;
        assert_eq!(role(cert("x", Some("operator"), &[])), Some(Role::Operator));
        assert_eq!(role(cert("x", Some("viewer"), &[])), Some(Role::Viewer));
        assert_eq!(
            role(cert("alice", Some("viewer"), &[])),
            Some(Role::Operator)
        );
        assert_eq!(role(cert("bob", None, &[])), Some(Role::Viewer));
        assert_eq!(
            role(cert("x", None, &["ops.example.org"])),
            Some(Role::Operator)
        );
        assert_eq!(role(cert("mallory", Some("sales"), &[])), None);
        assert_eq!(role(b"junk".to_vec()), None);
        let id = Identity::of(&cert("alice", Some("operator"), &[]), &map);
        assert!(id.subject.contains("CN=alice"), "{}", id.subject);
    }
}
