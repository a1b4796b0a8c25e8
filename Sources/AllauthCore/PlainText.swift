/// The rule for text that names someone or something (e-mail addresses, first and last names):
/// no NUL and no other control character. Such a value is refused with a field error, never cut
/// or stored: C code downstream (SQLite's text functions, mail headers, logs) would stop at a NUL
/// or break a line where the client chose. Passwords are exempt: they are hashed as given.
package enum PlainText {
    /// The field error for `text`, or nil when it is plain. NUL keeps DRF's own wording.
    package static func problem(in text: String) -> String? {
        var hasControl = false
        for scalar in text.unicodeScalars {
            if scalar == "\0" { return "Null characters are not allowed." }
            if scalar.properties.generalCategory == .control { hasControl = true }
        }
        return hasControl ? "Control characters are not allowed." : nil
    }
}
