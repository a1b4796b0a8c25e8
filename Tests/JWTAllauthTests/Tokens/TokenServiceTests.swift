import Crypto
import Foundation
import Testing
@testable import AllauthCore
@testable import AllauthDomain

/// Minting and verification for every algorithm, key rotation and algorithm pinning.
struct TokenServiceTests {
    static let refreshKey = HS256Key(secret: Array(repeating: 7, count: 32), label: "refresh")
    let now: Int64 = 1_800_000_000

    func claims(_ type: TokenClaims.TokenType = .access, exp: Int64? = nil) -> TokenClaims {
        TokenClaims(tokenType: type, exp: exp ?? now + 600, iat: now, jti: TokenService.newIdentifier(), userID: "42",
                    session: TokenService.newIdentifier(), sessionIat: now, role: 900, emailVerified: true, custom: [("org", "acme")])
    }

    static func service(_ algorithm: TokenAlgorithm) throws -> TokenService {
        let (pem, _) = try KeySet.generate(algorithm)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("key").path
        try pem.write(toFile: path, atomically: true, encoding: .utf8)
        return TokenService(keys: KeySet(accessSigner: try KeySet.loadPrivate(algorithm: algorithm, path: path), extraVerifiers: [], refreshKey: refreshKey))
    }

    @Test(arguments: [TokenAlgorithm.es256, .edDSA, .hs256])
    func mintedTokensVerifyAndKeepTheirClaims(_ algorithm: TokenAlgorithm) throws {
        let service = try Self.service(algorithm)
        let original = claims()
        let token = try service.mint(original)
        let header = try JSON.parse(Base64URL.decode(token.split(separator: ".")[0])!)
        #expect(header == .object([("alg", .string(algorithm.rawValue)), ("typ", "JWT"), ("kid", .string(service.keys.accessSigner.kid))]))
        #expect(try service.verify(token, expecting: .access, now: now).get() == original)
        #expect(service.verify(token, expecting: .refresh, now: now) == .failure(.wrongType))
        let refresh = try service.mint(claims(.refresh))
        #expect(throws: Never.self) { try service.verify(refresh, expecting: .refresh, now: now).get() }
        #expect(service.verify(refresh, expecting: .access, now: now) == .failure(.wrongType))
    }

    @Test func hs256KeysAreNeverPublished() throws {
        #expect(try Self.service(.hs256).keys.jwks(at: now) == .object([("keys", .array([]))]))
        let es = try Self.service(.es256)
        #expect(es.keys.jwks(at: now)["keys"].map { if case .array(let keys) = $0 { return keys.count } else { return 0 } } == 1)
    }

    @Test func expiredAndNotYetValidTokensAreRefused() throws {
        let service = try Self.service(.es256)
        let expired = try service.mint(claims(exp: now - 1))
        guard case .failure(.expired(let kept)) = service.verify(expired, expecting: .access, now: now) else {
            Issue.record("expected expired")
            return
        }
        #expect(kept?.userID == "42")
        var future = claims()
        future.iat = now + 3600
        #expect(service.verify(try service.mint(future), expecting: .access, now: now) == .failure(.invalid))
    }

    @Test func theKeyDecidesTheAlgorithm() throws {
        let service = try Self.service(.es256)
        let token = try service.mint(claims())
        let parts = token.split(separator: ".").map(String.init)
        let kid = service.keys.accessSigner.kid
        func header(_ alg: String) -> String { Base64URL.encode(Array(#"{"alg":"\#(alg)","typ":"JWT","kid":"\#(kid)"}"#.utf8)) }
        #expect(service.verify(header("none") + "." + parts[1] + ".", expecting: .access, now: now) == .failure(.invalid))
        #expect(service.verify(header("ES384") + "." + parts[1] + "." + parts[2], expecting: .access, now: now) == .failure(.invalid))
        // The refresh secret signs a token claiming to be an access token: refused.
        let forgedInput = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT","kid":"\#(Self.refreshKey.kid)"}"#.utf8)) + "." + parts[1]
        let forged = forgedInput + "." + Base64URL.encode(try Self.refreshKey.sign(Array(forgedInput.utf8)))
        #expect(service.verify(forged, expecting: .access, now: now) == .failure(.invalid))
    }

    @Test func aRetiredKeyStillVerifiesAfterRotationButNoLongerSigns() throws {
        let old = try Self.service(.es256)
        let oldToken = try old.mint(claims())
        // The old key as an operator would keep it: only its public half, from the JWKS.
        let jwk = try #require(old.keys.accessSigner.publicJWK)
        let x: [UInt8] = Base64URL.decode(jwk["x"]?.stringValue ?? "") ?? []
        let y: [UInt8] = Base64URL.decode(jwk["y"]?.stringValue ?? "") ?? []
        let retired = ES256Key(publicKey: try P256.Signing.PublicKey(rawRepresentation: x + y))
        #expect(retired.kid == old.keys.accessSigner.kid)
        let fresh = try Self.service(.es256)
        let rotated = TokenService(keys: KeySet(accessSigner: fresh.keys.accessSigner, extraVerifiers: [retired], refreshKey: Self.refreshKey))
        let now = self.now
        #expect(throws: Never.self) { try rotated.verify(oldToken, expecting: TokenClaims.TokenType.access, now: now).get() }
        let fresher = try rotated.mint(claims())
        #expect(throws: Never.self) { try rotated.verify(fresher, expecting: TokenClaims.TokenType.access, now: now).get() }
        #expect(throws: SigningKeyError.self) { try retired.sign([1, 2, 3]) }
        #expect(fresh.verify(oldToken, expecting: .access, now: now) == .failure(.invalid), "without the old key: refused")
    }

    @Test func identifiersAre32HexDigits() {
        let ids = (0..<100).map { _ in TokenService.newIdentifier() }
        #expect(Set(ids).count == 100)
        #expect(ids.allSatisfy { $0.count == 32 && $0.allSatisfy(\.isHexDigit) })
    }
}
