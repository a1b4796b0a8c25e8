import Foundation
import Testing
@testable import AllauthCore

struct Base64URLTests {
    @Test func matchesFoundationForEveryLengthAndRoundTrips() {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + length) }
            let expected = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == expected)
            #expect(Base64URL.decode(expected) == bytes)
        }
    }

    @Test(arguments: ["a", "ab=c", "a+b/", "abc=", "ab c", "A", "AB", "é"])
    func rejectsWhatIsNotCanonicalBase64URL(_ text: String) {
        // "AB" decodes only with zero trailing bits: "AA" is the canonical spelling of 0x00.
        #expect(Base64URL.decode(text) == nil)
    }
}
