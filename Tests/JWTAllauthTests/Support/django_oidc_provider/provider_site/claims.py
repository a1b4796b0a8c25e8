def userinfo(claims, user):
    """OIDC_USERINFO: this provider confirmed its users' addresses (the test creates them), so it
    vouches for them; the names come from the user row."""
    claims["email"] = user.email
    claims["email_verified"] = True
    claims["given_name"] = user.first_name
    claims["family_name"] = user.last_name
    return claims
