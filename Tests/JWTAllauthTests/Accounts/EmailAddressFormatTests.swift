import Testing
@testable import JWTAllauth

struct EmailAddressFormatTests {
    @Test func acceptsOrdinaryAddresses() {
        for address in ["a@example.com", "first.last+tag@sub.example.co.uk", "o'brien@example.ie", "me@localhost", "user@bücher.de",
                        "x@xn--bcher-kva.de"] {
            #expect(EmailAddressFormat.isValid(address), "\(address)")
        }
    }

    @Test func refusesWhatOnlyAttacksOrTyposProduce() {
        for address in ["", "plain", "@example.com", "a@", "a@b", "a@.com", "a..b@example.com", ".a@example.com", "a@-example.com",
                        "a@example.c", "a b@example.com", "a@example.com\r\nBcc: x@y.z", "nul\u{0}@example.com", "a@exa_mple.com",
                        "\"quoted\"@example.com", "a@[127.0.0.1]", String(repeating: "a", count: 65) + "@example.com",
                        "a@" + String(repeating: "b", count: 250) + ".com"] {
            #expect(!EmailAddressFormat.isValid(address), "\(address.prefix(40))")
        }
    }
}
