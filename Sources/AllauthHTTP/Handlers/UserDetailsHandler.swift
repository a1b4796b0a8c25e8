import AllauthCore
import AllauthDomain
import FastCGI

/// `GET|PUT|PATCH user/`: the caller's e-mail and names. E-mail is read-only; names up to 150
/// characters, stored as typed.
enum UserDetailsHandler {
    static func get(_ request: Request, _ context: HandlerContext) throws -> Response {
        .json(representation(try context.authenticate(request).account))
    }

    static func patch(_ request: Request, _ context: HandlerContext) throws -> Response {
        try update(request, context, partial: true)
    }

    /// PUT is PATCH with every writable field required.
    static func put(_ request: Request, _ context: HandlerContext) throws -> Response {
        try update(request, context, partial: false)
    }

    private static func update(_ request: Request, _ context: HandlerContext, partial: Bool) throws -> Response {
        // A deactivated account's live access token reads and writes nothing here (`authenticate`).
        var current = try context.authenticate(request).account
        var body = try RequestBody(request)
        // The same name rules as sign-up; PATCH leaves an absent field as it is.
        let firstName = body.personName("first_name", required: !partial)
        let lastName = body.personName("last_name", required: !partial)
        try body.validate()
        current.firstName = firstName ?? current.firstName
        current.lastName = lastName ?? current.lastName
        try context.users.updateNames(userID: current.id, firstName: current.firstName, lastName: current.lastName)
        return .json(representation(current))
    }

    private static func representation(_ user: UserRecord) -> JSON {
        .object([("email", .string(user.email)), ("first_name", .string(user.firstName)), ("last_name", .string(user.lastName))])
    }
}
