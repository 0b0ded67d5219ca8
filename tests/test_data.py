"""The data the pipeline ships, checked against the corpus: every word, span and reference
must be where the files say it is, so a corpus change that breaks one fails here loudly."""
from __future__ import annotations

import glob
import json
import re
from pathlib import Path

import pytest

from assistant.associated import QuestionFileError, clean, dumps, load, load_all, ClauseQuestions
from assistant.corpus import scan_corpus
from assistant.gate import load_gate
from assistant.library import Library
from assistant.ranking import load_ranker
from assistant.self_check import SelfCheckData, default_data
from assistant.thesaurus import Thesaurus

from conftest import CORPUS, ROOT


@pytest.fixture(scope="module")
def scan():
    return scan_corpus(CORPUS)


@pytest.fixture(scope="module")
def corpus_text():
    return "\n".join(Path(p).read_text(encoding="utf-8") for p in glob.glob(str(CORPUS / "*.md"))
                     + glob.glob(str(CORPUS / "*.txt")))


def test_every_statute_word_of_the_thesaurus_is_in_the_corpus(corpus_text):
    thesaurus = Thesaurus.load()
    missing = [w for c in thesaurus.concepts for w in c.statute if w not in corpus_text]
    assert not missing, missing[:10]
    words = [w for c in thesaurus.concepts for w in c.words]
    assert len(words) == len(set(words)), "a word in two concepts"


def test_associated_questions_point_at_clauses_that_exist(scan):
    assert not scan.question_problems, scan.question_problems[:5]
    assert len(scan.questions) > 500 and sum(map(len, scan.questions.values())) > 3000
    assert set(scan.questions) <= {c.id for c in scan.clauses}


def test_an_associated_questions_file_round_trips_and_refuses_bad_entries(tmp_path):
    tables = {"a3": ClauseQuestions("第三条", ["年假有几天？", "带薪年假 怎么算"], ["待审核的问法"])}
    path = tmp_path / "leave.toml"
    path.write_text(dumps(tables, "《休假办法》"), encoding="utf-8")
    assert load(path) == tables
    assert clean(["  重复 ", "重复", "", "a\x00b"]) == ["重复", "a b"]
    with pytest.raises(QuestionFileError):
        clean(["问" * 300])
    path.write_text('[a3]\nquestions = "not a list"\n', encoding="utf-8")
    with pytest.raises(QuestionFileError):
        load(path)
    corpus = tmp_path / "corpus"
    (corpus / "questions").mkdir(parents=True)
    (corpus / "questions" / "leave.toml").write_text("[a3\n", encoding="utf-8")  # broken: reported, not fatal
    (corpus / "questions" / "other.toml").write_text('[a1]\nquestions = ["一个问法"]\n', encoding="utf-8")
    questions, problems = load_all(corpus)
    assert questions == {"other/a1": ["一个问法"]} and len(problems) == 1 and "leave.toml" in problems[0]


def test_no_evaluation_question_is_shipped_as_data(scan):
    """Associated questions, examples and thesaurus words are written for the product: an
    evaluation question copied into them would stop measuring anything."""
    def norm(text):
        return re.sub(r"[\s？?！!。，,、]", "", text)

    shipped = {norm(q) for qs in scan.questions.values() for q in qs}
    sets = glob.glob(str(ROOT / "eval" / "*.jsonl")) + glob.glob(str(ROOT.parent / "shared" / "eval" / "*.jsonl"))
    copied = [t for path in sets for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()
              for t in json.loads(line)["turns"] if norm(t) in shipped]
    assert not copied, copied[:5]


def test_self_check_spans_are_verbatim_in_their_clauses(scan):
    clauses = {c.id: c for c in scan.clauses}
    assert not default_data().problems(clauses)


def test_a_self_check_span_that_is_not_in_its_clause_is_reported(scan, tmp_path):
    data = (Path(__file__).parent.parent / "assistant" / "data" / "self_check.toml").read_text(encoding="utf-8")
    broken = tmp_path / "self_check.toml"
    broken.write_text(data.replace("先行先试出现失误", "先行先试出了失误", 1), encoding="utf-8")
    problems = SelfCheckData.load(broken).problems({c.id: c for c in scan.clauses})
    assert len(problems) == 1 and "先行先试出了失误" in problems[0]


def test_catalog_relations_quote_their_source_verbatim(scan):
    library = Library.load(CORPUS)
    clauses = {c.id: c for c in scan.clauses}
    assert {r.kind for r in library.relations} == {"subordinate_to", "applies_with"}
    for relation in library.relations:
        assert relation.basis or relation.basis_quote in clauses[relation.basis_clause].text, relation
    assert library.absent and all(doc.title for doc in library.absent)


def test_absent_documents_are_found_in_either_wording_once():
    library = Library.load(CORPUS)
    named = library.absent_named_in("监察法实施条例怎么规定的", "那按监察法实施条例呢")
    assert [doc.title for doc in named] == ["中华人民共和国监察法", "中华人民共和国监察法实施条例"]  # once each
    assert library.absent_named_in("公务员法怎么规定的") == []  # held: not absent


def test_the_fitted_models_match_the_code_and_never_saw_a_test_question():
    ranker, gate = load_ranker(), load_gate()
    for model in (ranker, gate):
        assert set(model.models) == {"with_questions", "without_questions"}
        sources = model.provenance["fitted_on"]
        assert sources and not any(s.endswith(":test") for s in sources)
        assert all(":calibration" in s or "cadre.jsonl" not in s for s in sources)
