/// The user's language (migration `0012_user_language`): the catalog code the mails sent to them
/// later are written in. Kept apart from `UserRecord`, which every account flow reads, because
/// only the mailer needs it.
extension UserStore {
    public func language(userID: Int64) throws -> String? {
        try db.first("SELECT language FROM users WHERE id = ?", [.integer(userID)]) { $0.optionalString(0) } ?? nil
    }

    public func setLanguage(userID: Int64, _ language: String?) throws {
        guard let language else { return }
        try db.run("UPDATE users SET language = ? WHERE id = ?", [.text(language), .integer(userID)])
    }
}
