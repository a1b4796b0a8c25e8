import AllauthCore
import Crypto
import Foundation

/// The client secret sent at a provider's token endpoint. Apple accepts no fixed secret: a JWT
/// signed ES256 with the developer's key, valid for a short while (Apple allows up to six months;
/// one hour is enough since it is minted per exchange).
enum SocialClientSecret {
    static func appleKey(_ pem: String) throws -> P256.Signing.PrivateKey {
        try P256.Signing.PrivateKey(pemRepresentation: pem)
    }

    /// The secret to send, or nil for a public client.
    static func value(for provider: SocialProvider, now: Int64) throws -> String? {
        switch provider.clientSecret {
        case .none: return nil
        case .shared(let secret): return secret
        case .appleJWT(let teamID, let keyID, let pem):
            let key = ES256Key(privateKey: try appleKey(pem))
            let header = JSON.object([("alg", "ES256"), ("kid", .string(keyID))])
            let claims = JSON.object([
                ("iss", .string(teamID)), ("iat", .number(Double(now))), ("exp", .number(Double(now + 3600))),
                ("aud", "https://appleid.apple.com"), ("sub", .string(provider.clientID)),
            ])
            let input = Base64URL.encode(header.encoded()) + "." + Base64URL.encode(claims.encoded())
            return input + "." + Base64URL.encode(try key.sign(Array(input.utf8)))
        }
    }
}
