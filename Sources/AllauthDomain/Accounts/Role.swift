import Foundation

/// Role codes of the reference (django-jwt-allauth's `JAUser.role`): 0 a regular user, 900 a
/// superuser, 1000 staff. What a role grants here: the `role` claim the apps behind read, and
/// invitations — `accounts.registration_allowed_roles` (by default 1000 and 900) may invite, each up
/// to its own code. Any other code in `codes` is a custom role for those apps (the reference's
/// permission classes take a list of accepted codes).
public enum Role {
    public static let user = 0
    public static let superuser = 900
    public static let staff = 1000

    /// What a role may be: the reference's `PositiveSmallIntegerField`.
    package static let codes = 0...32767

    /// The named roles, lowest first.
    package static let names: [(name: String, code: Int)] = [("user", user), ("superuser", superuser), ("staff", staff)]

    /// The code `text` names: a role's name (any case) or a number in `codes`; nil otherwise.
    package static func code(_ text: String) -> Int? {
        let text = text.trimmingCharacters(in: .whitespaces)
        if let named = names.first(where: { $0.name == text.lowercased() }) { return named.code }
        guard text.allSatisfy(\.isASCII), let number = Int(text), codes.contains(number) else { return nil }
        return number
    }

    /// `staff (1000)`, or the bare code of a custom role.
    package static func describe(_ code: Int) -> String {
        names.first { $0.code == code }.map { "\($0.name) (\(code))" } ?? String(code)
    }
}
