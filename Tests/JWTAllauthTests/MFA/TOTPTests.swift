import Foundation
import Testing
@testable import AllauthDomain

/// RFC 6238 appendix B (SHA-1 rows: 8 digits, the 20-byte ASCII seed "12345678901234567890").
private let seed = Array("12345678901234567890".utf8)
private let appendixB: [(time: Int64, code: String)] = [
    (59, "94287082"), (1_111_111_109, "07081804"), (1_111_111_111, "14050471"),
    (1_234_567_890, "89005924"), (2_000_000_000, "69279037"), (20_000_000_000, "65353130"),
]

@Suite struct TOTPTests {
    @Test func independentTestGeneratorMatchesRFC6238AppendixB() {
        for vector in appendixB {
            #expect(IndependentTOTP.code(key: seed, unixTime: vector.time, digits: 8) == vector.code, "T=\(vector.time)")
        }
    }

    @Test func serviceGeneratorMatchesRFC6238AppendixB() {
        let totp = TOTP(secret: seed)
        for vector in appendixB {
            #expect(totp.code(step: TOTP.step(at: vector.time), digits: 8) == vector.code, "T=\(vector.time)")
        }
    }

    @Test func base32RoundTripsThroughTheIndependentDecoder() {
        for _ in 0..<20 {
            let secret = TOTP.newSecret()
            #expect(secret.count == 20)
            #expect(IndependentTOTP.decodeBase32(Base32.encode(secret)) == secret)
        }
        #expect(Base32.encode(Array("foobar".utf8)) == "MZXW6YTBOI")
    }

    @Test func codeIsAcceptedWithinOneStepAndNeverTwice() {
        let totp = TOTP(secret: seed)
        let now: Int64 = 1_234_567_890
        let current = TOTP.step(at: now)
        for offset in [-1, 0, 1] as [Int64] {
            #expect(totp.matchingStep(totp.code(step: current + offset), now: now, after: nil) == current + offset)
        }
        #expect(totp.matchingStep(totp.code(step: current - 2), now: now, after: nil) == nil)
        #expect(totp.matchingStep(totp.code(step: current + 2), now: now, after: nil) == nil)
        // Once step `current` was accepted, neither it nor an older code works again.
        #expect(totp.matchingStep(totp.code(step: current), now: now, after: current) == nil)
        #expect(totp.matchingStep(totp.code(step: current - 1), now: now, after: current) == nil)
        #expect(totp.matchingStep(totp.code(step: current + 1), now: now, after: current) == current + 1)
    }

    @Test func sealedSecretOpensOnlyForItsOwnUser() throws {
        let key = MFAKey(key: .init(size: .bits256))
        let sealed = try key.seal(seed, userID: 7)
        #expect(try key.open(sealed, userID: 7) == seed)
        #expect(!sealed.contains(subsequence: seed))
        #expect(throws: (any Error).self) { try key.open(sealed, userID: 8) }
        #expect(throws: (any Error).self) { try MFAKey(key: .init(size: .bits256)).open(sealed, userID: 7) }
    }

    @Test func provisioningURINamesIssuerAndAccount() {
        let uri = TOTP.provisioningURI(secret: seed, account: "person1@world.com", issuer: "JWT Allauth")
        #expect(uri == "otpauth://totp/JWT%20Allauth:person1%40world.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=JWT%20Allauth")
    }
}

private extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { Array(self[$0..<$0 + subsequence.count]) == subsequence }
    }
}
