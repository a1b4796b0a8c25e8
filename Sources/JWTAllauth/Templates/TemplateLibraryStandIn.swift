// TEMPORARY: the agreed interface of the `pages` branch's TemplateLibrary, so the account flows
// build before that branch is merged. Deleted by the merge of `pages`; nothing here is final.
import FastCGI
import Foundation
import HTTPTypes

public enum MailTemplate: String, CaseIterable, Sendable {
    case confirmation, invitation, passwordReset = "password_reset", accountExists = "account_exists"
}

public struct MailContext: Sendable {
    public var email: String
    public var firstName: String
    public var link: String?
    public var siteName: String
    public var passwordResetURL: String?
}

public struct RenderedMail: Sendable, Equatable {
    public var subject: String
    public var text: String
    public var html: String
}

public enum PageTemplate: String, CaseIterable, Sendable {
    case verified, verificationFailed = "verification_failed", verificationSent = "verification_sent",
         passwordResetForm = "password_reset_form", passwordResetComplete = "password_reset_complete", setPasswordForm = "set_password_form"
}

final class TemplateLibrary: Sendable {
    func mail(_ template: MailTemplate, _ context: MailContext) throws -> RenderedMail {
        let subjects: [MailTemplate: String] = [.confirmation: "Welcome!", .invitation: "You've been invited to join our platform",
                                                .passwordReset: "Password reset", .accountExists: "You already have an account"]
        let text = "\(subjects[template]!)\n\n\(context.link ?? context.passwordResetURL ?? "")\n"
        return RenderedMail(subject: subjects[template]!, text: text, html: "<p>\(text)</p>")
    }

    func page(_ template: PageTemplate) throws -> String { "<!doctype html><title>\(template.rawValue)</title>" }
}

extension HandlerContext {
    func page(_ template: PageTemplate, status: HTTPResponse.Status) throws -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headerFields: fields, body: Array(try service.templates.page(template).utf8))
    }
}

extension Service {
    var templates: TemplateLibrary { TemplateLibrary() }
}
