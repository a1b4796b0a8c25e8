import Testing
@testable import AllauthDomain

struct EmailAddressFormatTests {
    @Test func acceptsOrdinaryAddresses() {
        for address in ["a@example.com", "first.last+tag@sub.example.co.uk", "o'brien@example.ie", "me@localhost", "x@xn--bcher-kva.de"] {
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

    /// Stored as typed it would be undeliverable (no SMTPUTF8) and a second spelling of
    /// `xn--bcher-kva.de`: refused with its own message, the ASCII form accepted.
    @Test func internationalisedDomainsAreRefusedInUnicodeForm() {
        #expect(EmailAddressFormat.problem("user@bücher.de") == .unicodeDomain)
        #expect(EmailAddressFormat.problem("user@пример.рф") == .unicodeDomain)
        #expect(EmailAddressFormat.problem("user@xn--bcher-kva.de") == nil)
        #expect(EmailAddressFormat.problem("user@bü_cher.de") == .invalid)
    }
}
