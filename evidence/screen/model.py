"""The screening queue's model: TF-IDF features and a classifier retrained from the curators' decisions (scikit-learn).

As ASReview's default: features are fitted once on every text of the pool (no labels needed), the
classifier on the decisions so far, with the two classes weighted alike (relevant records are few).
Until both an include and an exclude exist, the rules' relevance ranks the queue instead.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import MultinomialNB

MIN_EACH = 1  # decisions of each kind (include, exclude) before the model ranks
TEXT_CHARS = 3000


@dataclass(frozen=True)
class ModelSettings:
    """Which classifier and features (chosen on the tuning part of the screening benchmark, see bench/RESULTS.md)."""

    classifier: str = "naive_bayes"  # naive_bayes | logistic
    ngrams: int = 2
    c: float = 1.0  # inverse regularisation of the logistic regression
    min_df: int = 1

    def describe(self) -> str:
        """One line naming the model, for reports."""
        if self.classifier == "naive_bayes":
            return f"TF-IDF (1-{self.ngrams}-grams) + multinomial naive Bayes (alpha 3.822, ASReview's default)"
        return f"TF-IDF (1-{self.ngrams}-grams) + logistic regression (C={self.c:g}, classes balanced)"


RECENT_WINDOW = 20  # decisions the estimate of what is left looks back over (at least; 10% of all when more)


def estimate_left(recent: Sequence[int], left: int) -> float:
    """How many relevant records may remain: the share of recent decisions that were includes, times the records left.

    The queue puts the likeliest first, so the records left are at most as often relevant as those just
    screened: a rough upper bound that falls to 0 after a run of excludes (the usual stopping signal).
    """
    return round(sum(recent) / len(recent) * left, 1) if recent else float(left)


def recent_window(decided: int) -> int:
    """How many of the latest decisions the estimate reads."""
    return max(RECENT_WINDOW, decided // 10)


def model_text(title: str, abstract: str | None) -> str:
    """What the model reads of a record: its title and the opening of its abstract, summary or text."""
    return f"{title or ''}\n{(abstract or '')[:TEXT_CHARS]}"


def tie_key(text: str) -> int:
    """A fixed pseudo-random order for records the ranking cannot tell apart (never the order they were listed in)."""
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:12], 16)


class RelevanceModel:
    """Features of every text of a pool, and a classifier that can be retrained from decisions on some of them."""

    def __init__(self, texts: Sequence[str], settings: ModelSettings | None = None):
        self.settings = settings or ModelSettings()
        self.vectorizer = TfidfVectorizer(sublinear_tf=True, strip_accents="unicode", stop_words="english",
                                          ngram_range=(1, self.settings.ngrams), min_df=self.settings.min_df, max_features=200_000)
        self.matrix = self.vectorizer.fit_transform(list(texts) or [""]) if any(t.strip() for t in texts) else None
        self.classifier: LogisticRegression | MultinomialNB | None = None

    def fit(self, indices: Sequence[int], labels: Sequence[int]) -> bool:
        """Train on the decided texts (1 include, 0 exclude); False while one kind has fewer than MIN_EACH decisions."""
        if self.matrix is None or sum(labels) < MIN_EACH or len(labels) - sum(labels) < MIN_EACH:
            self.classifier = None
            return False
        x, y = self.matrix[list(indices)], np.asarray(labels)
        if self.settings.classifier == "naive_bayes":
            weights = np.where(y == 1, len(y) / (2 * y.sum()), len(y) / (2 * (len(y) - y.sum())))
            self.classifier = MultinomialNB(alpha=3.822).fit(x, y, sample_weight=weights)
        else:
            self.classifier = LogisticRegression(C=self.settings.c, class_weight="balanced", max_iter=2000).fit(x, y)
        return True

    def probabilities(self) -> np.ndarray:
        """The probability that each text of the pool is relevant (the trained model must exist)."""
        assert self.classifier is not None and self.matrix is not None
        return np.asarray(self.classifier.predict_proba(self.matrix)[:, 1])

    def words(self, index: int, relevant: bool, count: int = 6) -> list[str]:
        """The words of one text that pushed the model most towards (or away from) relevant."""
        if self.classifier is None or self.matrix is None:
            return []
        row = self.matrix[index]
        if isinstance(self.classifier, LogisticRegression):
            weights = self.classifier.coef_[0]
        else:
            weights = self.classifier.feature_log_prob_[1] - self.classifier.feature_log_prob_[0]
        contributions = row.multiply(weights).tocsr()
        values, columns = contributions.data, contributions.indices
        order = np.argsort(-values if relevant else values)
        names = self.vectorizer.get_feature_names_out()
        return [str(names[columns[i]]) for i in order[:count] if (values[i] > 0) == relevant and values[i] != 0]
