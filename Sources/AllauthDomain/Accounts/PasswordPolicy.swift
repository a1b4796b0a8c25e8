import Foundation

/// Django's four standard password validators, with their messages, run in Django's order:
/// similarity to the account's attributes, minimum length, the common-passwords list, all-numeric.
/// Every failing message is returned, as Django does.
///
/// Hand-written: no Swift package implements these, and the behaviour (messages, Python's
/// `difflib.SequenceMatcher.quick_ratio`, the length-ratio shortcut) must match the reference.
public struct PasswordPolicy: Sendable {
    public var minLength: Int
    /// Lower-cased entries; a password matches after lower-casing and trimming.
    let commonPasswords: Set<String>
    /// Django's `max_similarity`.
    static let maxSimilarity = 0.7

    public init(minLength: Int, commonPasswords: Set<String>) {
        self.minLength = minLength
        self.commonPasswords = commonPasswords
    }

    /// What a password is compared with: the account's address and names, labelled as Django's
    /// verbose field names are ("The password is too similar to the email address.").
    public struct Attributes: Sendable {
        public var email: String
        public var firstName: String
        public var lastName: String

        public init(email: String, firstName: String = "", lastName: String = "") {
            self.email = email
            self.firstName = firstName
            self.lastName = lastName
        }

        /// In Django's order (`username`, `first_name`, `last_name`, `email`; we have no username).
        var labelled: [(label: String, value: String)] {
            [("first name", firstName), ("last name", lastName), ("email address", email)] // i18n: shown inside a message
        }
    }

    /// The messages of every rule `password` breaks; empty when it is acceptable.
    public func problems(_ password: String, similarTo attributes: Attributes?) -> [String] {
        var problems: [String] = []
        if let attributes, let label = Self.tooSimilar(password, attributes) {
            problems.append("The password is too similar to the \(label).")
        }
        if password.unicodeScalars.count < minLength {
            problems.append("This password is too short. It must contain at least \(minLength) character\(minLength == 1 ? "" : "s").")
        }
        if commonPasswords.contains(password.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()) {
            problems.append("This password is too common.")
        }
        if !password.isEmpty, password.unicodeScalars.allSatisfy({ [.decimal, .digit].contains($0.properties.numericType) }) {
            problems.append("This password is entirely numeric.")
        }
        return problems
    }

    /// Django's `UserAttributeSimilarityValidator`: each attribute, whole and split on non-word
    /// characters (so the address's local part and domain count too), against the lower-cased password.
    static func tooSimilar(_ password: String, _ attributes: Attributes) -> String? {
        let password = Array(password.lowercased().unicodeScalars)
        for (label, value) in attributes.labelled where !value.isEmpty {
            let lowered = value.lowercased()
            let parts = lowered.unicodeScalars.split(whereSeparator: { !isWordCharacter($0) }).map(Array.init) + [Array(lowered.unicodeScalars)]
            for part in parts {
                // Django skips values far shorter than the password: they cannot reach the ratio.
                let lengthBound = maxSimilarity / 2 * Double(password.count)
                if password.count >= 10 * part.count && Double(part.count) < lengthBound { continue }
                if quickRatio(password, part) >= maxSimilarity { return label }
            }
        }
        return nil
    }

    /// Python's `\w`: letters, digits and the underscore.
    private static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }

    /// `difflib.SequenceMatcher(a:b:).quick_ratio()`: twice the size of the multiset intersection
    /// over the total length.
    static func quickRatio(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Double {
        guard !a.isEmpty || !b.isEmpty else { return 1 }
        var available: [Unicode.Scalar: Int] = [:]
        for scalar in b { available[scalar, default: 0] += 1 }
        var matches = 0
        for scalar in a where available[scalar, default: 0] > 0 {
            available[scalar]! -= 1
            matches += 1
        }
        return 2 * Double(matches) / Double(a.count + b.count)
    }

    /// Reads the common-passwords list shipped as `config/common-passwords.txt`: Django 5.2.19's
    /// `django/contrib/auth/common-passwords.txt.gz` (20,000 passwords compiled by Royce Williams,
    /// BSD-licensed with Django), unzipped, one lower-cased password per line.
    public static func commonPasswords(in share: URL) throws -> Set<String> {
        let url = share.appendingPathComponent("config/common-passwords.txt")
        let text = try String(contentsOf: url, encoding: .utf8)
        return Set(text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) })
    }
}
