import Crypto
import Foundation
import Synchronization
import Testing
@testable import JWTAllauth

/// The OpenID client alone, through an injected fetcher: what it asks the provider for, and the
/// multi-tenant issuer check (the end-to-end tests cover the rest against a real provider).
struct OpenIDClientTests {
    /// Serves fixed documents by URL and counts the requests.
    final class StubFetcher: HTTPFetcher {
        let documents: [String: (JSON, cacheControl: String?)]
        let requests = Mutex<[String]>([])

        init(_ documents: [String: (JSON, cacheControl: String?)]) { self.documents = documents }

        func fetch(_ url: String, form: [(String, String)]?) throws(HTTPFetchError) -> FetchedResponse {
            requests.withLock { $0.append(url) }
            guard let (json, cacheControl) = documents[url] else { throw .unreachable("no route to \(url)") }
            return FetchedResponse(status: 200, headers: cacheControl.map { [("cache-control", $0)] } ?? [], body: json.encoded())
        }
    }

    static let key = ES256Key(privateKey: P256.Signing.PrivateKey())

    static func world() throws -> (OpenIDClient, StubFetcher) {
        let config = try Config.parse(yaml: "social:\n  providers:\n    microsoft: {client_id: app-1}\n", baseDirectory: URL(fileURLWithPath: "/tmp"))
        let provider = try #require(config.social.provider("microsoft"))
        var jwk = try #require(key.publicJWK)
        if case .object(var members) = jwk { members.removeAll { $0.0 == "kid" }; jwk = .object(members + [("kid", "k1")]) }
        let fetcher = StubFetcher([
            provider.discoveryURL: (.object([("issuer", "https://login.microsoftonline.com/{tenantid}/v2.0"),
                                             ("jwks_uri", "https://login.microsoftonline.com/common/discovery/v2.0/keys")]), "max-age=600"),
            "https://login.microsoftonline.com/common/discovery/v2.0/keys": (.object([("keys", .array([jwk]))]), nil),
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
}
