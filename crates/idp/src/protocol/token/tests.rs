//! The token endpoint's logic, called directly: no HTTP.

use super::*;

#[test]
fn grant_types_round_trip() {
    for grant_type in [
        GrantType::AuthorizationCode,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
        GrantType::JwtBearer,
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::Unknown("urn:example:grant".to_owned()),
    ] {
        assert_eq!(GrantType::parse(grant_type.as_str()), grant_type);
        assert_eq!(grant_type.to_string(), grant_type.as_str());
    }
    assert_eq!(GrantType::parse("device_code"), GrantType::DeviceCode);
    assert_eq!(
        GrantType::DeviceCode.as_str(),
        "urn:ietf:params:oauth:grant-type:device_code"
    );
    assert_eq!(
        GrantType::parse("Password"),
        GrantType::Unknown("Password".to_owned()),
        "grant types are case-sensitive"
    );
}
