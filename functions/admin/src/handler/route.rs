//! The operators' routes (DESIGN §3.12), read from the method and path alone, before any
//! table is touched. A member id in the path that cannot be one (not 22 base64url
//! characters) names no member, so it is answered as an unknown one without a request.

/// The prefix every route shares.
pub const MEMBERS_PATH: &str = "/v2/admin/members";

/// Characters of a member id (128 random bits, base64url).
const MEMBER_ID_LEN: usize = 22;

/// What an operator asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `GET /v2/admin/members?email=...`
    FindByEmail,
    /// `GET /v2/admin/members/{id}`
    Get(MemberId),
    /// `DELETE /v2/admin/members/{id}`
    Delete(MemberId),
    /// `POST /v2/admin/members/{id}/block`
    Block(MemberId),
    /// `POST /v2/admin/members/{id}/unblock`
    Unblock(MemberId),
    /// `GET /v2/admin/members/{id}/sessions`
    ListSessions(MemberId),
    /// `POST /v2/admin/members/{id}/sessions/revoke`
    RevokeSessions(MemberId),
}

/// A member id from the path: `Some` only when it has the shape of one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberId(pub Option<String>);

impl MemberId {
    fn parse(raw: &str) -> Self {
        let shaped = raw.len() == MEMBER_ID_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        Self(shaped.then(|| raw.to_owned()))
    }
}

/// A request no route takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unrouted {
    NotFound,
    /// The path is a route, the method is not one of `allow`.
    MethodNotAllowed(&'static str),
}

impl Action {
    /// The event its audit lines carry.
    pub fn event(&self) -> &'static str {
        match self {
            Action::FindByEmail => "admin_find_member",
            Action::Get(_) => "admin_get_member",
            Action::Delete(_) => "admin_delete_member",
            Action::Block(_) => "admin_block_member",
            Action::Unblock(_) => "admin_unblock_member",
            Action::ListSessions(_) => "admin_list_sessions",
            Action::RevokeSessions(_) => "admin_revoke_sessions",
        }
    }

    /// The member id the action names, if it names one.
    pub fn member_id(&self) -> Option<&MemberId> {
        match self {
            Action::FindByEmail => None,
            Action::Get(id)
            | Action::Delete(id)
            | Action::Block(id)
            | Action::Unblock(id)
            | Action::ListSessions(id)
            | Action::RevokeSessions(id) => Some(id),
        }
    }
}

/// The action `method path` asks for.
pub fn parse(method: &str, path: &str) -> Result<Action, Unrouted> {
    let Some(rest) = path.strip_prefix(MEMBERS_PATH) else {
        return Err(Unrouted::NotFound);
    };
    let segments: Vec<&str> = match rest {
        "" => vec![],
        r => match r.strip_prefix('/') {
            Some(r) => r.split('/').collect(),
            None => return Err(Unrouted::NotFound),
        },
    };
    let allow = |allowed: &'static str, action: Action| {
        if allowed.split(", ").any(|m| m == method) {
            Ok(action)
        } else {
            Err(Unrouted::MethodNotAllowed(allowed))
        }
    };
    match segments.as_slice() {
        [] => allow("GET", Action::FindByEmail),
        [id] if !id.is_empty() => {
            let id = MemberId::parse(id);
            match method {
                "DELETE" => Ok(Action::Delete(id)),
                _ => allow("GET, DELETE", Action::Get(id)),
            }
        }
        [id, "block"] if !id.is_empty() => allow("POST", Action::Block(MemberId::parse(id))),
        [id, "unblock"] if !id.is_empty() => allow("POST", Action::Unblock(MemberId::parse(id))),
        [id, "sessions"] if !id.is_empty() => {
            allow("GET", Action::ListSessions(MemberId::parse(id)))
        }
        [id, "sessions", "revoke"] if !id.is_empty() => {
            allow("POST", Action::RevokeSessions(MemberId::parse(id)))
        }
        _ => Err(Unrouted::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_is_its_method_and_path_and_nothing_else() {
        let id = "AAAAAAAAAAAAAAAAAAAAAA";
        let some = || MemberId(Some(id.to_owned()));
        let base = MEMBERS_PATH;
        for (method, path, expected) in [
            ("GET", base.to_owned(), Ok(Action::FindByEmail)),
            ("GET", format!("{base}/{id}"), Ok(Action::Get(some()))),
            ("DELETE", format!("{base}/{id}"), Ok(Action::Delete(some()))),
            (
                "POST",
                format!("{base}/{id}/block"),
                Ok(Action::Block(some())),
            ),
            (
                "POST",
                format!("{base}/{id}/unblock"),
                Ok(Action::Unblock(some())),
            ),
            (
                "GET",
                format!("{base}/{id}/sessions"),
                Ok(Action::ListSessions(some())),
            ),
            (
                "POST",
                format!("{base}/{id}/sessions/revoke"),
                Ok(Action::RevokeSessions(some())),
            ),
            // Ids of the wrong shape name no member.
            (
                "GET",
                format!("{base}/short"),
                Ok(Action::Get(MemberId(None))),
            ),
            (
                "POST",
                format!("{base}/{id}A/block"),
                Ok(Action::Block(MemberId(None))),
            ),
            (
                "GET",
                format!("{base}/..%2F..%2Fetc%2Fpasswd%2Fxxxxx"),
                Ok(Action::Get(MemberId(None))),
            ),
            // Methods the path does not take.
            (
                "POST",
                base.to_owned(),
                Err(Unrouted::MethodNotAllowed("GET")),
            ),
            (
                "PUT",
                format!("{base}/{id}"),
                Err(Unrouted::MethodNotAllowed("GET, DELETE")),
            ),
            (
                "GET",
                format!("{base}/{id}/block"),
                Err(Unrouted::MethodNotAllowed("POST")),
            ),
            (
                "DELETE",
                format!("{base}/{id}/sessions"),
                Err(Unrouted::MethodNotAllowed("GET")),
            ),
            // Paths that are no route.
            ("GET", "/v2/admin".to_owned(), Err(Unrouted::NotFound)),
            ("GET", format!("{base}x"), Err(Unrouted::NotFound)),
            ("GET", format!("{base}//block"), Err(Unrouted::NotFound)),
            (
                "POST",
                format!("{base}/{id}/promote"),
                Err(Unrouted::NotFound),
            ),
            (
                "POST",
                format!("{base}/{id}/sessions/revoke/all"),
                Err(Unrouted::NotFound),
            ),
        ] {
            assert_eq!(parse(method, &path), expected, "{method} {path}");
        }
    }
}
