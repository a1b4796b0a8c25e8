import FastCGI

/// `GET|PUT|PATCH user/`: the caller's e-mail and names. E-mail is read-only; names up to 150
/// characters, stored as typed.
enum UserDetailsHandler {
    static func get(_ request: Request, _ context: HandlerContext) throws -> Response {
        .json(representation(try user(request, context)))
    }

    static func patch(_ request: Request, _ context: HandlerContext) throws -> Response {
        try update(request, context, partial: true)
    }

    /// PUT is PATCH with every writable field required.
    static func put(_ request: Request, _ context: HandlerContext) throws -> Response {
        try update(request, context, partial: false)
    }

    private static func update(_ request: Request, _ context: HandlerContext, partial: Bool) throws -> Response {
        var current = try user(request, context)
        var body = try RequestBody(request)
        let firstName = body.plainText("first_name", required: !partial, allowBlank: true, maxLength: 150)
        let lastName = body.plainText("last_name", required: !partial, allowBlank: true, maxLength: 150)
        try body.validate()
        current.firstName = firstName ?? current.firstName
        current.lastName = lastName ?? current.lastName
        try context.users.updateNames(userID: current.id, firstName: current.firstName, lastName: current.lastName)
        return .json(representation(current))
    }

    private static func user(_ request: Request, _ context: HandlerContext) throws -> UserRecord {
        let identity = try context.authenticate(request)
        guard let user = try context.users.find(id: identity.userID) else {
            throw APIError.unauthorized("User not found", code: "user_not_found")
        }
        // Unlike the reference, a deactivated account's live access token reads and writes nothing
        // here: the row is read anyway, so refusing costs nothing.
        guard user.isActive else { throw APIError.tokenNotValid() }
        return user
    }

    private static func representation(_ user: UserRecord) -> JSON {
        .object([("email", .string(user.email)), ("first_name", .string(user.firstName)), ("last_name", .string(user.lastName))])
    }
}
