import Testing
@testable import AllauthCore

/// The one rule for e-mail addresses and names: no NUL, no other control character.
struct PlainTextTests {
    @Test(arguments: ["a@example.com", "O’Brien-Núñez", "Zoë 😀", ""])
    func plainTextPasses(_ text: String) {
        #expect(PlainText.problem(in: text) == nil)
    }

    @Test func aNULIsRefusedInDRFsWords() {
        #expect(PlainText.problem(in: "a@example.com\u{0}x") == "Null characters are not allowed.")
    }

    @Test(arguments: ["a\tb", "a\nb", "a\u{7}b", "a\u{1b}[31mb", "a\u{7f}b", "a\u{85}b"])
    func otherControlCharactersAreRefused(_ text: String) {
        #expect(PlainText.problem(in: text) == "Control characters are not allowed.")
    }
}
