import Crypto
import Foundation
import Testing
@testable import AllauthCore
@testable import AllauthDomain

/// `social.*` keys: providers from the file or from the environment as a YAML flow value, the
/// presets, and refusals that name the key.
struct SocialConfigTests {
    private func parse(_ yaml: String = "", _ environment: [String: String] = [:]) throws -> Config {
        try Config.parse(yaml: yaml, environment: environment, baseDirectory: URL(fileURLWithPath: "/tmp"))
    }

    @Test func providersComeFromTheEnvironmentAsAYAMLFlowValue() throws {
        let config = try parse("", ["JWT_ALLAUTH_SOCIAL_PROVIDERS": #"{example: {name: Example, issuer: "http://127.0.0.1:9000", client_id: abc, client_secret: s3cret}}"#])
        let provider = try #require(config.social.provider("example"))
        #expect(provider.name == "Example")
        #expect(provider.issuer == "http://127.0.0.1:9000")
        #expect(provider.clientID == "abc")
        guard case .shared("s3cret") = provider.clientSecret else { Issue.record("secret not read"); return }
        #expect(provider.scopes == ["openid", "email", "profile"])
        // Off unless asked for (allauth's SOCIALACCOUNT_EMAIL_AUTHENTICATION), and no callback URL allowed.
        #expect(config.social.emailLinking == .none)
        #expect(config.social.callbackURLs == [])
    }

    @Test func callbackURLsAreAbsoluteHTTPURLsAndNullAllowsNone() throws {
        let config = try parse("social:\n  callback_urls: [\"https://app.example.com/cb\", \"http://127.0.0.1:3000/cb?x=1\"]\n")
        #expect(config.social.callbackURLs == ["https://app.example.com/cb", "http://127.0.0.1:3000/cb?x=1"])
        #expect(try parse("social:\n  callback_urls: null\n").social.callbackURLs == [])
        for bad in ["/relative/cb", "javascript:alert(1)", "https://app.example.com/cb#fragment", "https:///cb"] {
            #expect(throws: ConfigError.self, "\(bad)") { try parse("", ["JWT_ALLAUTH_SOCIAL_CALLBACK_URLS": "[\"\(bad)\"]"]) }
        }
    }

    @Test func presetsFillGoogleAndATenantAwareMicrosoftIssuer() throws {
        let config = try parse("""
            social:
              providers:
                google: {client_id: g, client_secret: x}
                microsoft: {client_id: m, client_secret: y}
                contoso: {issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", client_id: c}
              email_linking: [google]
            """)
        #expect(config.social.provider("google")?.issuer == "https://accounts.google.com")
        #expect(config.social.provider("microsoft")?.issuer == "https://login.microsoftonline.com/{tenantid}/v2.0")
        #expect(config.social.provider("microsoft")?.discoveryURL == "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration")
        #expect(config.social.provider("google")?.discoveryURL == "https://accounts.google.com/.well-known/openid-configuration")
        #expect(config.social.emailLinking == .providers(["google"]))
        let single = try parse("social:\n  providers:\n    microsoft: {client_id: m, tenant: 8eaef023-2b34-4da1-9baa-8bc8c9d6a490}\n")
        #expect(single.social.provider("microsoft")?.issuer == "https://login.microsoftonline.com/8eaef023-2b34-4da1-9baa-8bc8c9d6a490/v2.0")
    }

    @Test func appleSignsItsClientSecretAsAnES256JWTFromTheConfiguredKey() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("apple-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = P256SigningKeyPEM.make()
        try key.private.write(to: directory.appendingPathComponent("apple.p8"), atomically: true, encoding: .utf8)
        let config = try Config.parse(yaml: "social:\n  providers:\n    apple: {client_id: com.example.app, team_id: TEAM123, key_id: KEY456, private_key_file: apple.p8}\n",
                                      baseDirectory: directory)
        let apple = try #require(config.social.provider("apple"))
        #expect(apple.issuer == "https://appleid.apple.com")
        let secret = try #require(try SocialClientSecret.value(for: apple, now: 1_800_000_000))
        let jws = try #require(CompactJWS(secret, maxLength: 4096))
        #expect(jws.algorithm == "ES256" && jws.kid == "KEY456")
        #expect(ES256Key(publicKey: try .init(pemRepresentation: key.public)).verify(jws.signature, for: jws.signingInput))
        #expect(jws.payload()?["iss"]?.stringValue == "TEAM123")
        #expect(jws.payload()?["sub"]?.stringValue == "com.example.app")
        #expect(jws.payload()?["aud"]?.stringValue == "https://appleid.apple.com")
        #expect(throws: ConfigError.self) { try Config.parse(yaml: "social:\n  providers:\n    apple: {client_id: x}\n", baseDirectory: directory) }
    }

    @Test func aMisspelledProviderKeyOrMissingClientIDStopsTheServiceNamingTheKey() throws {
        #expect(throws: ConfigError(key: "social.providers.example.clientid", problem: "unknown key; did you mean `client_id`?")) {
            try parse("", ["JWT_ALLAUTH_SOCIAL_PROVIDERS": #"{example: {issuer: "https://id.example.com", client_id: a, clientid: b}}"#])
        }
        #expect(throws: ConfigError(key: "social.providers.example.client_id", problem: "is required")) {
            try parse("social:\n  providers:\n    example: {issuer: \"https://id.example.com\"}\n")
        }
        #expect(throws: ConfigError.self) { try parse("social:\n  providers:\n    example: {issuer: \"ftp://x\", client_id: a}\n") }
        #expect(throws: ConfigError.self) { try parse("social:\n  providers:\n    Bad/Id: {issuer: \"https://x\", client_id: a}\n") }
        #expect(throws: ConfigError.self) { try parse("social:\n  email_linking: [nobody]\n") }
    }

    @Test func cacheLifetimeFollowsCacheControl() {
        #expect(OpenIDClient.cacheLifetime("public, max-age=120") == 120)
        #expect(OpenIDClient.cacheLifetime("no-store") == 0)
        #expect(OpenIDClient.cacheLifetime(nil) == OpenIDClient.defaultLifetime)
        #expect(OpenIDClient.cacheLifetime("max-age=99999999") == 86400)
    }
}

/// A throwaway P-256 key in PEM form (what Apple hands a developer as a .p8 file).
enum P256SigningKeyPEM {
    static func make() -> (private: String, public: String) {
        let key = P256.Signing.PrivateKey()
        return (key.pemRepresentation, key.publicKey.pemRepresentation)
    }
}
