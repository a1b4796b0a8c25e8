import AllauthDomain
import Foundation

/// The fields the account endpoints share, with the reference's messages.
extension RequestBody {
    /// A required e-mail address, trimmed and lower-cased (addresses compare case-insensitively).
    mutating func emailAddress(_ name: String = "email", maxLength: Int = EmailAddressFormat.maxLength) -> String? {
        guard let text = plainText(name, maxLength: maxLength) else { return nil }
        switch EmailAddressFormat.problem(text) {
        case nil: break
        case .invalid:
            fail(name, "Enter a valid email address.")
            return nil
        case .unicodeDomain:
            fail(name, "Write the domain of this address in its ASCII (xn--) form.")
            return nil
        }
        return UserStore.normalise(text)
    }

    /// An optional first or last name: letters of any script, spaces, hyphens, apostrophes and
    /// periods, stored as typed (docs/api.md, differences: `O'Brien`, `Love-lace`).
    mutating func personName(_ name: String) -> String {
        personName(name, required: false) ?? ""
    }

    /// The same rules for `user/`: PUT requires the field, PATCH may leave it out (nil).
    mutating func personName(_ name: String, required: Bool) -> String? {
        guard let text = plainText(name, required: required, allowBlank: true, maxLength: PersonName.maxLength) else { return nil }
        guard PersonName.isValid(text) else {
            fail(name, "Incorrect format")
            return nil
        }
        return text
    }

    /// `new_password1` and `new_password2` of change, reset and set-password (as in django-jwt-allauth):
    /// at most 128 characters each; a mismatch or every validator message goes under `new_password2`.
    mutating func newPassword(_ policy: PasswordPolicy, similarTo attributes: PasswordPolicy.Attributes) -> String? {
        let first = string("new_password1", maxLength: 128)
        let second = string("new_password2", maxLength: 128)
        guard let first, let second, errors.isEmpty else { return nil }
        let problems = Self.newPasswordProblems(first, second, policy, attributes)
        for problem in problems { fail("new_password2", problem) }
        return problems.isEmpty ? first : nil
    }

    /// As Django's SetPasswordForm: a mismatch alone; the validators run on a confirmed password.
    static func newPasswordProblems(_ first: String, _ second: String, _ policy: PasswordPolicy,
                                    _ attributes: PasswordPolicy.Attributes) -> [String] {
        guard first == second else { return ["The two password fields didn\u{2019}t match."] }
        return policy.problems(second, similarTo: attributes)
    }

    /// A required whole number (DRF's IntegerField: a JSON integer or a string of digits).
    mutating func integer(_ name: String, range: ClosedRange<Int>) -> Int? {
        guard let value = self[name], value != .null else {
            fail(name, "This field is required.")
            return nil
        }
        let number: Int?
        switch value {
        case .number: number = value.int64Value.flatMap { Int(exactly: $0) }
        case .string(let text): number = Int(text.trimmingCharacters(in: .whitespaces))
        default: number = nil
        }
        guard let number else {
            fail(name, "A valid integer is required.")
            return nil
        }
        guard range.contains(number) else {
            fail(name, number < range.lowerBound ? "Ensure this value is greater than or equal to \(range.lowerBound)."
                                                  : "Ensure this value is less than or equal to \(range.upperBound).")
            return nil
        }
        return number
    }
}
