/// A first or last name as the account endpoints and the command line take it: letters of any
/// script, spaces, hyphens, apostrophes and periods, stored as typed (docs/api.md, differences:
/// `O'Brien`, `Love-lace`).
package enum PersonName {
    package static let maxLength = 150

    private static let punctuation: Set<Unicode.Scalar> = [" ", "-", "'", "\u{2019}", "."]

    /// Whether `text` (already trimmed, and free of control characters) is a name we accept.
    package static func isValid(_ text: String) -> Bool {
        text.count <= maxLength && text.unicodeScalars.allSatisfy {
            punctuation.contains($0) || $0.properties.isAlphabetic || $0.properties.generalCategory == .nonspacingMark
        }
    }
}
