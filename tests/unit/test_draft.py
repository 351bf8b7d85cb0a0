"""The draft's bookkeeping (llama/draft.py): where the text written has
reached in the draft, how it is found again after a change, and how far
ahead each pass reads. The decode loop with a draft, on the real model, is
tests/engine/test_draft.py."""

from __future__ import annotations

from lsp_server.inference.llama.draft import K_MAX, K_MIN, K_START, MATCH, Draft

DRAFT = list(range(100, 140))  # forty distinct tokens


def test_a_copy_is_proposed_from_the_draft_ahead_of_the_text() -> None:
    draft = Draft(DRAFT)
    draft.wrote(100)  # the model's first token is the draft's first
    assert draft.proposal(room=100) == DRAFT[1 : 1 + K_START]
    draft.took(DRAFT[1:9])
    draft.offered(8, 8)
    draft.wrote(109)
    assert draft.proposal(room=100) == DRAFT[10 : 10 + 2 * K_START]


def test_the_lookahead_doubles_on_agreement_and_halves_on_disagreement() -> None:
    draft = Draft(DRAFT)
    for _ in range(10):
        draft.offered(4, 4)
    assert draft.lookahead == K_MAX
    for _ in range(10):
        draft.offered(4, 1)
    assert draft.lookahead == K_MIN


def test_a_proposal_fits_the_room_given() -> None:
    draft = Draft(DRAFT)
    draft.wrote(100)
    assert draft.proposal(room=3) == DRAFT[1:4]
    assert draft.proposal(room=0) == []


def test_a_token_replaced_finds_the_draft_again_at_the_next_one() -> None:
    draft = Draft(DRAFT)
    for token in DRAFT[:5]:
        draft.wrote(token)
    draft.wrote(999)  # the model writes something else: a number changed, say
    assert draft.at is None
    assert draft.proposal(room=100) == []
    draft.wrote(DRAFT[6])  # and goes on as the draft does, right after it
    assert draft.proposal(room=4) == DRAFT[7:11]


def test_a_token_inserted_finds_the_draft_again_where_it_was_left() -> None:
    draft = Draft(DRAFT)
    for token in DRAFT[:5]:
        draft.wrote(token)
    draft.wrote(999)  # `_value` after a name, say
    draft.wrote(DRAFT[5])
    assert draft.proposal(room=4) == DRAFT[6:10]


def test_further_on_the_draft_is_found_again_only_by_its_last_tokens() -> None:
    draft = Draft(DRAFT)
    for token in DRAFT[:5]:
        draft.wrote(token)
    for token in (998, 999):  # replaced, and the draft's 5..9 left out
        draft.wrote(token)
    for token in DRAFT[10 : 10 + MATCH - 1]:
        draft.wrote(token)
        assert draft.proposal(room=100) == [], "not found again with fewer tokens"
    draft.wrote(DRAFT[10 + MATCH - 1])
    assert draft.proposal(room=4) == DRAFT[10 + MATCH : 10 + MATCH + 4]


def test_a_chance_match_ahead_does_not_hide_the_place_behind_it() -> None:
    # 7 8 9 occurs at 20: lines inserted at 10 that end in 7 8 9 are taken for
    # it, wrongly; when the draft goes on at 10 after all, it is found there.
    ids = list(range(100, 140))
    ids[20:23] = [7, 8, 9]
    draft = Draft(ids)
    for token in ids[:10]:
        draft.wrote(token)
    for token in (900, 7, 8, 9):
        draft.wrote(token)
    assert draft.proposal(room=2) == ids[23:25]  # the chance match
    draft.wrote(901)  # rejected at once
    for token in ids[10 : 10 + MATCH]:
        draft.wrote(token)
    assert draft.proposal(room=2) == ids[10 + MATCH : 12 + MATCH]


def test_an_insertion_is_found_again_where_the_draft_resumes() -> None:
    draft = Draft(DRAFT)
    for token in DRAFT[:10]:
        draft.wrote(token)
    for token in (900, 901, 902, 903):  # lines the draft does not have
        draft.wrote(token)
    for token in DRAFT[10 : 10 + MATCH]:
        draft.wrote(token)
    assert draft.proposal(room=2) == DRAFT[10 + MATCH : 12 + MATCH]


def test_a_deletion_finds_the_draft_further_on_not_behind() -> None:
    repeated = [1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 8, 9]  # 1 2 3 occurs twice
    draft = Draft(repeated)
    for token in repeated[:4]:
        draft.wrote(token)
    for token in (5, 6, 7):  # accepted as the draft's
        draft.wrote(token)
    draft.wrote(42)  # left
    for token in (1, 2, 3):
        draft.wrote(token)
    # Found where the text left the draft (index 7) or later: 8 comes next,
    # not 4 (the first 1 2 3 lies behind).
    assert draft.proposal(room=1) == [8]


def test_text_that_never_meets_the_draft_gets_no_proposal() -> None:
    draft = Draft(DRAFT)
    for token in range(500, 520):
        draft.wrote(token)
        assert draft.proposal(room=8) == []


def renamed_once() -> tuple[list[int], Draft]:
    """A draft where token 7 (a name) comes at 3, 15 and 25, and the model
    has written `7 999` (`name_value`) for its first use, then gone on."""
    ids = list(range(100, 140))
    for use in (3, 15, 25):
        ids[use] = 7
    draft = Draft(ids)
    for token in ids[:4]:
        draft.wrote(token)
    draft.wrote(999)
    draft.wrote(ids[4])
    return ids, draft


def test_a_rename_is_proposed_again_at_the_next_uses() -> None:
    ids, draft = renamed_once()
    proposed = draft.proposal(room=100)
    assert proposed[:11] == ids[5:16]  # up to the next use, 7 ...
    assert proposed[11:13] == [999, ids[16]]  # ... renamed as the first was
    assert draft.proposal(room=100).count(999) == 2


def test_a_rename_the_model_does_not_make_again_is_taken_back() -> None:
    ids, draft = renamed_once()
    draft.proposal(room=100)
    draft.took(ids[5:16])  # the text up to the next use, 7
    draft.wrote(ids[16])  # not renamed here after all
    assert draft.proposal(room=100) == ids[17:], "the draft as it was, without the rename"
