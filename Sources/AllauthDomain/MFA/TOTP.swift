import AllauthRuntime
import Crypto
import Foundation

/// Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, 6 digits, 30 s
/// steps, what every authenticator app speaks. Hand-written because it is twenty lines over
/// swift-crypto's HMAC and no package in our mirrors provides it.
package struct TOTP {
    package static let digits = 6
    static let period: Int64 = 30
    /// Steps accepted on either side of the current one (clock drift, a code typed at the edge).
    static let tolerance: Int64 = 1

    let secret: [UInt8]

    /// The time step `now` falls in.
    static func step(at now: Int64) -> Int64 { now / period }

    /// The code for one time step (RFC 4226 §5.3 dynamic truncation).
    func code(step: Int64, digits: Int = TOTP.digits) -> String {
        var counter = UInt64(bitPattern: step).bigEndian
        let message = withUnsafeBytes(of: &counter) { Array($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary = (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let number = String(binary % modulus)
        return String(repeating: "0", count: digits - number.count) + number
    }

    /// The step whose code `code` is, within the tolerance around `now` and after `lastUsedStep`
    /// (a code, once accepted, never works again, nor does any older one: RFC 6238 §5.2).
    /// Every candidate is compared in constant time, so timing tells nothing about near misses.
    func matchingStep(_ code: String, now: Int64, after lastUsedStep: Int64?) -> Int64? {
        let current = Self.step(at: now)
        var matched: Int64?
        for step in (current - Self.tolerance)...(current + Self.tolerance) {
            let candidate = self.code(step: step)
            if constantTimeEquals(Array(candidate.utf8), Array(code.utf8)), step > (lastUsedStep ?? Int64.min), matched == nil {
                matched = step
            }
        }
        return matched
    }

    /// A new secret: 160 random bits, the length RFC 4226 recommends for SHA-1.
    static func newSecret() -> [UInt8] {
        SymmetricKey(size: SymmetricKeySize(bitCount: 160)).withUnsafeBytes { Array($0) }
    }

    /// The `otpauth://` URI authenticator apps read from the QR code (Google's Key Uri Format).
    static func provisioningURI(secret: [UInt8], account: String, issuer: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encode = { (text: String) in text.addingPercentEncoding(withAllowedCharacters: allowed) ?? "" }
        let label = encode(issuer) + ":" + encode(account)
        return "otpauth://totp/\(label)?secret=\(Base32.encode(secret))&issuer=\(encode(issuer))"
    }
}
