//! The approvals vocabulary and the rule that decides a request: a quorum of the eligible
//! board members must vote, and more than a set share of the non-abstaining votes must
//! approve.

use crate::text_enum::text_enum;

text_enum! {
    /// What a request asks the board to decide: the kind of its [`super::subject::Subject`]
    /// (adding a kind is described there).
    pub enum RequestKind {
        Budget => ("budget", "Budget request"),
        RiskAcceptance => ("risk_acceptance", "Risk acceptance above appetite"),
        PolicyPublication => ("policy_publication", "Policy publication"),
        PolicyException => ("policy_exception", "Policy exception"),
    }
}

text_enum! {
    pub enum RequestStatus {
        Draft => ("draft", "Draft"),
        Open => ("open", "Open for votes"),
        Approved => ("approved", "Approved"),
        Rejected => ("rejected", "Rejected"),
        Withdrawn => ("withdrawn", "Withdrawn"),
        Expired => ("expired", "Expired"),
    }
}

impl RequestStatus {
    pub fn is_closed(self) -> bool {
        !matches!(self, RequestStatus::Draft | RequestStatus::Open)
    }
}

text_enum! {
    pub enum Choice {
        Approve => ("approve", "Approve"),
        Reject => ("reject", "Reject"),
        Abstain => ("abstain", "Abstain"),
    }
}

text_enum! {
    /// Why a vote stopped counting.
    pub enum VoteEnd {
        /// Its voter cast another.
        Changed => ("changed", "Changed"),
        /// The request's content changed, or its voter was recused.
        SetAside => ("set_aside", "Set aside"),
    }
}

text_enum! {
    pub enum SpendType {
        Capex => ("capex", "CapEx"),
        Opex => ("opex", "OpEx"),
    }
}

/// How a request ends when it closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Approved,
    Rejected,
    /// Closed at its due date without a quorum.
    Expired,
}

impl Outcome {
    pub fn status(self) -> RequestStatus {
        match self {
            Outcome::Approved => RequestStatus::Approved,
            Outcome::Rejected => RequestStatus::Rejected,
            Outcome::Expired => RequestStatus::Expired,
        }
    }
}

/// The rule of a request, fixed when it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Share of the eligible members who must vote (abstentions count), in percent.
    pub quorum_percent: i32,
    /// Approval needs more than this share of the approve + reject votes, in percent.
    pub majority_percent: i32,
}

/// The live count of a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    /// Board members who may vote: active, not the requester, not the project's manager,
    /// not recused.
    pub eligible: i64,
    pub approve: i64,
    pub reject: i64,
    pub abstain: i64,
}

impl Count {
    pub fn cast(&self) -> i64 {
        self.approve + self.reject + self.abstain
    }

    /// Votes needed for a quorum (at least one).
    pub fn quorum_needed(&self, rule: Rule) -> i64 {
        ((self.eligible * i64::from(rule.quorum_percent) + 99) / 100).max(1)
    }

    pub fn quorum_met(&self, rule: Rule) -> bool {
        self.cast() >= self.quorum_needed(rule)
    }

    fn approves(approve: i64, reject: i64, rule: Rule) -> bool {
        approve > 0 && approve * 100 > i64::from(rule.majority_percent) * (approve + reject)
    }

    /// The outcome once no remaining vote could change it (the request then closes by
    /// itself), or `None` while it is still open to persuasion.
    pub fn settled(&self, rule: Rule) -> Option<Outcome> {
        if !self.quorum_met(rule) {
            return None;
        }
        let remaining = (self.eligible - self.cast()).max(0);
        if Self::approves(self.approve, self.reject + remaining, rule) {
            Some(Outcome::Approved)
        } else if !Self::approves(self.approve + remaining, self.reject, rule) {
            Some(Outcome::Rejected)
        } else {
            None
        }
    }

    /// The outcome when the chair closes the request at its due date: decided by the votes
    /// cast if there is a quorum, expired otherwise.
    pub fn at_close(&self, rule: Rule) -> Outcome {
        if !self.quorum_met(rule) {
            Outcome::Expired
        } else if Self::approves(self.approve, self.reject, rule) {
            Outcome::Approved
        } else {
            Outcome::Rejected
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAJORITY: Rule = Rule {
        quorum_percent: 50,
        majority_percent: 50,
    };

    fn count(eligible: i64, approve: i64, reject: i64, abstain: i64) -> Count {
        Count {
            eligible,
            approve,
            reject,
            abstain,
        }
    }

    #[test]
    fn a_request_settles_only_when_no_remaining_vote_can_change_it() {
        // Five eligible, quorum three.
        assert_eq!(count(5, 2, 0, 0).settled(MAJORITY), None, "no quorum yet");
        assert_eq!(
            count(5, 2, 1, 0).settled(MAJORITY),
            None,
            "two more could reject"
        );
        assert_eq!(count(5, 3, 0, 0).settled(MAJORITY), Some(Outcome::Approved));
        assert_eq!(count(5, 0, 3, 0).settled(MAJORITY), Some(Outcome::Rejected));
        assert_eq!(
            count(5, 1, 0, 1).settled(MAJORITY),
            None,
            "three more could still reject"
        );
        assert_eq!(
            count(5, 1, 1, 3).settled(MAJORITY),
            Some(Outcome::Rejected),
            "all voted, a tie"
        );
        assert_eq!(
            count(4, 2, 2, 0).settled(MAJORITY),
            Some(Outcome::Rejected),
            "a tie does not approve"
        );
        assert_eq!(
            count(3, 0, 0, 3).settled(MAJORITY),
            Some(Outcome::Rejected),
            "all abstained"
        );
    }

    #[test]
    fn closing_at_the_due_date_decides_by_the_votes_cast_or_expires() {
        assert_eq!(count(5, 2, 0, 0).at_close(MAJORITY), Outcome::Expired);
        assert_eq!(count(5, 2, 1, 0).at_close(MAJORITY), Outcome::Approved);
        assert_eq!(count(5, 1, 1, 1).at_close(MAJORITY), Outcome::Rejected);
        let two_thirds = Rule {
            quorum_percent: 100,
            majority_percent: 66,
        };
        assert_eq!(count(3, 2, 1, 0).at_close(two_thirds), Outcome::Approved);
        assert_eq!(count(3, 2, 0, 0).at_close(two_thirds), Outcome::Expired);
    }

    #[test]
    fn the_quorum_rounds_up() {
        assert_eq!(count(5, 0, 0, 0).quorum_needed(MAJORITY), 3);
        assert_eq!(count(4, 0, 0, 0).quorum_needed(MAJORITY), 2);
        assert_eq!(count(0, 0, 0, 0).quorum_needed(MAJORITY), 1);
    }
}
