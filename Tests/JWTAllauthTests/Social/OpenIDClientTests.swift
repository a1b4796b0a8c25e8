import Crypto
import Foundation
import Synchronization
import Testing
@testable import AllauthCore
@testable import AllauthDomain

/// The OpenID client alone, through an injected fetcher: what it asks the provider for, and the
/// multi-tenant issuer check (the end-to-end tests cover the rest against a real provider).
struct OpenIDClientTests {
    /// Serves fixed documents by URL and counts the requests (and the bearer tokens sent).
    final class StubFetcher: HTTPFetcher {
        let documents: [String: (JSON, cacheControl: String?)]
        let requests = Mutex<[String]>([])
        let bearers = Mutex<[String]>([])

        init(_ documents: [String: (JSON, cacheControl: String?)]) { self.documents = documents }

        func fetch(_ url: String, form: [(String, String)]?, bearer: String?) throws(HTTPFetchError) -> FetchedResponse {
            requests.withLock { $0.append(url) }
            if let bearer { bearers.withLock { $0.append(bearer) } }
            guard let (json, cacheControl) = documents[url] else { throw .unreachable("no route to \(url)") }
            return FetchedResponse(status: 200, headers: cacheControl.map { [("cache-control", $0)] } ?? [], body: json.encoded())
        }
    }

    static let userInfoURL = "https://graph.microsoft.com/oidc/userinfo"

    static let key = ES256Key(privateKey: P256.Signing.PrivateKey())

    static func world(userInfo: JSON = .object([])) throws -> (OpenIDClient, StubFetcher) {
        let config = try Config.parse(yaml: "social:\n  providers:\n    microsoft: {client_id: app-1}\n", baseDirectory: URL(fileURLWithPath: "/tmp"))
        let provider = try #require(config.social.provider("microsoft"))
        var jwk = try #require(key.publicJWK)
        if case .object(var members) = jwk { members.removeAll { $0.0 == "kid" }; jwk = .object(members + [("kid", "k1")]) }
        let fetcher = StubFetcher([
            provider.discoveryURL: (.object([("issuer", "https://login.microsoftonline.com/{tenantid}/v2.0"),
                                             ("jwks_uri", "https://login.microsoftonline.com/common/discovery/v2.0/keys"),
                                             ("userinfo_endpoint", .string(userInfoURL))]), "max-age=600"),
            "https://login.microsoftonline.com/common/discovery/v2.0/keys": (.object([("keys", .array([jwk]))]), nil),
            userInfoURL: (userInfo, nil),
        ])
        return (OpenIDClient(provider: provider, fetcher: fetcher), fetcher)
    }

    static func token(_ claims: [(String, JSON)]) throws -> String {
        let header = JSON.object([("alg", "ES256"), ("kid", "k1")])
        let input = Base64URL.encode(header.encoded()) + "." + Base64URL.encode(JSON.object(claims).encoded())
        return input + "." + Base64URL.encode(try key.sign(Array(input.utf8)))
    }

    @Test func aMultiTenantIssuerIsCheckedAgainstTheTokensOwnTenant() throws {
        let (client, fetcher) = try Self.world()
        let now: Int64 = 1_800_000_000
        func claims(iss: String, tid: String) -> [(String, JSON)] {
            [("iss", .string(iss)), ("tid", .string(tid)), ("aud", "app-1"), ("sub", "s"), ("iat", .number(Double(now))), ("exp", .number(Double(now + 60)))]
        }
        let good = try Self.token(claims(iss: "https://login.microsoftonline.com/t-1/v2.0", tid: "t-1"))
        #expect(try client.verify(idToken: good, nonce: nil, now: now).uid == "s")
        let mixed = try Self.token(claims(iss: "https://login.microsoftonline.com/t-1/v2.0", tid: "t-2"))
        #expect(throws: OpenIDError.self) { try client.verify(idToken: mixed, nonce: nil, now: now) }
        // Discovery and keys were fetched once each, then served from the cache.
        #expect(fetcher.requests.withLock { $0.count } == 2)
    }

    /// Claims of a token from tenant t-1 for app-1, about `sub`.
    static func claims(sub: String = "s", now: Int64, extra: [(String, JSON)] = []) -> [(String, JSON)] {
        [("iss", "https://login.microsoftonline.com/t-1/v2.0"), ("tid", "t-1"), ("aud", "app-1"), ("sub", .string(sub)),
         ("iat", .number(Double(now))), ("exp", .number(Double(now + 60)))] + extra
    }

    @Test func userInfoCompletesAnIdentityWithoutAnAddressOnlyForItsSubjectAndAccessToken() throws {
        let now: Int64 = 1_800_000_000
        let access = "at-0123456789"
        let atHash = Base64URL.encode(Array(SHA256.hash(data: Array(access.utf8))).prefix(16))
        let (client, fetcher) = try Self.world(userInfo: .object([("sub", "s"), ("email", "Someone@example.com"), ("email_verified", true),
                                                                  ("given_name", "Some"), ("tid", "other")]))
        let token = try Self.token(Self.claims(now: now, extra: [("at_hash", .string(atHash))]))
        let identity = try client.identity(idToken: token, accessToken: access, nonce: nil, now: now)
        #expect(identity.email == "Someone@example.com" && identity.emailVerified)
        #expect(identity.claims["given_name"]?.stringValue == "Some")
        #expect(identity.claims["tid"]?.stringValue == "t-1", "the id_token's own claims win")
        #expect(fetcher.bearers.withLock { $0 } == [access])

        // An access token that is not the one the id_token's at_hash names: UserInfo is not asked.
        #expect(throws: OpenIDError.rejected("at_hash does not match the access token")) {
            try client.identity(idToken: token, accessToken: "at-another", nonce: nil, now: now)
        }
        // Nothing that could leave the Authorization header.
        let plain = try Self.token(Self.claims(now: now))
        #expect(throws: OpenIDError.rejected("malformed access token")) {
            try client.identity(idToken: plain, accessToken: "at\r\nX-Evil: 1", nonce: nil, now: now)
        }
        #expect(fetcher.bearers.withLock { $0 }.count == 1)

        // An answer about someone else is never used.
        let (other, _) = try Self.world(userInfo: .object([("sub", "someone-else"), ("email", "victim@example.com"), ("email_verified", true)]))
        do {
            _ = try other.identity(idToken: plain, accessToken: access, nonce: nil, now: now)
            Issue.record("another subject's UserInfo was used")
        } catch {
            guard case .providerFault(let fault) = error else { Issue.record("\(error)"); return }
            #expect(fault.endpoint == "UserInfo" && fault.problem.contains("another subject"))
        }
    }

    @Test func theIDTokenIsRememberedByItsJTIOrItsSignedPartAndExpiresWithIt() throws {
        let now: Int64 = 1_800_000_000
        let (client, _) = try Self.world()
        let withJTI = try client.verify(idToken: try Self.token(Self.claims(now: now, extra: [("jti", "j-1")])), nonce: nil, now: now)
        let sameJTI = try client.verify(idToken: try Self.token(Self.claims(now: now + 1, extra: [("jti", "j-1")])), nonce: nil, now: now)
        #expect(withJTI.token.digest == sameJTI.token.digest, "one jti, one token")
        #expect(withJTI.token.expires == now + 60 + OpenIDClient.leeway)
        // Without a jti: ES256 signatures differ at every signing, the signed part does not.
        let claims = Self.claims(now: now)
        let first = try client.verify(idToken: try Self.token(claims), nonce: nil, now: now)
        let second = try client.verify(idToken: try Self.token(claims), nonce: nil, now: now)
        #expect(first.token.digest == second.token.digest)
        #expect(first.token.digest != withJTI.token.digest && first.token.digest.count == 64)
    }

    @Test func onlyWellFormedErrorCodesAndBearerTokensPass() {
        #expect(ProviderFault.errorCode("invalid_client") == "invalid_client")
        for bad in [nil, "", "invalid_client\nforged log line", String(repeating: "e", count: 65), "naïve"] as [String?] {
            #expect(ProviderFault.errorCode(bad) == nil, "\(String(describing: bad))")
        }
        #expect(BearerToken.isValid("abc.DEF-_~+/0=="))
        for bad in ["", "==", "a b", "a\r\nX: y", "a=b", "ü"] { #expect(!BearerToken.isValid(bad), "\(bad)") }
    }
}
