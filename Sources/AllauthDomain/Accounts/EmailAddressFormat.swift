/// Whether a string is an e-mail address we accept, in the spirit of Django's `EmailValidator`:
/// a dot-atom local part, an `@`, and a domain of ASCII letter/digit/hyphen labels with a
/// top-level label of letters or an `xn--` label (or `localhost`). No quoted local parts, no
/// address literals, no control characters or spaces anywhere: they only ever appear in attacks
/// on the mail path.
///
/// Internationalised domains are refused in their Unicode form (`bücher.de`) with a message of
/// their own: stored as typed they would be undeliverable (our SMTP path speaks no SMTPUTF8) and
/// would not match the same address written `xn--bcher-kva.de`. The ASCII form is accepted.
package enum EmailAddressFormat {
    package static let maxLength = 254

    package enum Problem: Equatable {
        case invalid
        /// A domain with non-ASCII letters: valid in spirit, but only its `xn--` form is accepted.
        case unicodeDomain
    }

    static func isValid(_ address: String) -> Bool { problem(address) == nil }

    package static func problem(_ address: String) -> Problem? {
        guard address.utf8.count <= maxLength, let at = address.lastIndex(of: "@") else { return .invalid }
        let local = address[..<at]
        let domain = address[address.index(after: at)...]
        guard isValidLocalPart(local) else { return .invalid }
        if isValidDomain(domain, letter: \.isASCIILetter) { return nil }
        return isValidDomain(domain, letter: { $0.properties.isAlphabetic }) ? .unicodeDomain : .invalid
    }

    private static let atext = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-".unicodeScalars)

    private static func isValidLocalPart(_ local: Substring) -> Bool {
        guard !local.isEmpty, local.utf8.count <= 64 else { return false }
        return local.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { atom in
            !atom.isEmpty && atom.unicodeScalars.allSatisfy(atext.contains)
        }
    }

    /// `letter`: which scalars count as letters (ASCII for an accepted domain; any script to tell
    /// an internationalised domain from a malformed one).
    private static func isValidDomain(_ domain: Substring, letter: (Unicode.Scalar) -> Bool) -> Bool {
        if domain.lowercased() == "localhost" { return true }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, let top = labels.last, top.count >= 2,
              top.unicodeScalars.allSatisfy(letter) || top.hasPrefix("xn--")
        else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { $0 == "-" || letter($0) || ("0"..."9").contains($0) }
        }
    }
}

private extension Unicode.Scalar {
    var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
