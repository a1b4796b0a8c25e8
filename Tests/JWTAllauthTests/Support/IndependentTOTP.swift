import Crypto
import Foundation

/// A TOTP generator written apart from the service's (RFC 6238 read afresh, its own Base32
/// decoder), so the end-to-end tests compute codes as an authenticator app would and a shared
/// mistake cannot make both sides agree. Checked against RFC 6238 appendix B in `TOTPTests`.
enum IndependentTOTP {
    /// RFC 4648 Base32, as the secret arrives in `mfa/setup/`.
    static func decodeBase32(_ text: String) -> [UInt8] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var bytes: [UInt8] = []
        var accumulator = 0
        var bitCount = 0
        for character in text.uppercased() where character != "=" {
            guard let value = alphabet.firstIndex(of: character) else { continue }
            accumulator = (accumulator << 5) | value
            bitCount += 5
            if bitCount >= 8 {
                bytes.append(UInt8((accumulator >> (bitCount - 8)) & 0xff))
                bitCount -= 8
            }
        }
        return bytes
    }

    static func code(key: [UInt8], unixTime: Int64, digits: Int = 6, period: Int64 = 30) -> String {
        let counter = unixTime / period
        let message = (0..<8).map { UInt8((counter >> (56 - 8 * $0)) & 0xff) }
        let hash = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: key)))
        let offset = Int(hash[19] & 0xf)
        let value = hash[offset..<offset + 4].reduce(0) { ($0 << 8) | Int($1) } & 0x7fff_ffff
        let text = String(value % Int(pow(10, Double(digits))))
        return String(repeating: "0", count: digits - text.count) + text
    }

    /// Waits into the next 30 s step when fewer than `seconds` are left in this one, so that a
    /// code computed now is judged by the server in the same step (a code one step off at the
    /// edge of the ±1 window would fail by the clock alone).
    static func awaitStepWithRoom(_ seconds: Double = 3) {
        let intoStep = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 30)
        if 30 - intoStep < seconds { Thread.sleep(forTimeInterval: 30 - intoStep + 0.05) }
    }

    /// The code for now plus `steps` periods.
    static func code(secret base32: String, stepsFromNow steps: Int64 = 0) -> String {
        code(key: decodeBase32(base32), unixTime: Int64(Date().timeIntervalSince1970) + 30 * steps)
    }
}
