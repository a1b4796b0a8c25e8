/// Whether a string is an e-mail address we accept, in the spirit of Django's `EmailValidator`:
/// a dot-atom local part, an `@`, and a domain of letter/digit/hyphen labels with a top-level
/// label of letters (or `localhost`). No quoted local parts, no address literals, no control
/// characters or spaces anywhere: they only ever appear in attacks on the mail path.
enum EmailAddressFormat {
    static let maxLength = 254

    static func isValid(_ address: String) -> Bool {
        guard address.utf8.count <= maxLength, let at = address.lastIndex(of: "@") else { return false }
        let local = address[..<at]
        let domain = address[address.index(after: at)...]
        return isValidLocalPart(local) && isValidDomain(domain)
    }

    private static let atext = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-".unicodeScalars)

    private static func isValidLocalPart(_ local: Substring) -> Bool {
        guard !local.isEmpty, local.utf8.count <= 64 else { return false }
        return local.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { atom in
            !atom.isEmpty && atom.unicodeScalars.allSatisfy(atext.contains)
        }
    }

    private static func isValidDomain(_ domain: Substring) -> Bool {
        if domain.lowercased() == "localhost" { return true }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, let top = labels.last, top.count >= 2,
              top.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic }) || top.hasPrefix("xn--")
        else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { $0 == "-" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
        }
    }
}
