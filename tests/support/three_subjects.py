"""Twelve made-up papers on three clearly different subjects, four each: protein folding,
speech synthesis and graph neural networks. Written for the tests (no feed's text)."""

from __future__ import annotations

PROTEIN_FOLDING = [
    (
        "Predicting protein folding pathways with coevolution",
        "Protein folding determines how an amino acid sequence reaches its native structure. "
        "We predict protein folding pathways from coevolution signals in multiple sequence "
        "alignments and compare the predicted intermediates with molecular dynamics.",
    ),
    (
        "Fast protein structure prediction from single sequences",
        "Protein structure prediction usually needs multiple sequence alignments. We fold "
        "single amino acid sequences with a language model of proteins and reach the accuracy "
        "of alignment-based protein folding on orphan proteins.",
    ),
    (
        "Misfolded proteins and the energy landscape of protein folding",
        "Misfolded proteins aggregate in neurodegenerative disease. We map the energy "
        "landscape of protein folding for three amyloid proteins with molecular dynamics and "
        "find the amino acid contacts that trap misfolded states.",
    ),
    (
        "Protein folding kinetics measured by single-molecule force spectroscopy",
        "Single-molecule force spectroscopy pulls proteins apart and lets them refold. "
        "We measure protein folding kinetics of small domains and relate the folding rates to "
        "contact order in the native structure of the proteins.",
    ),
]

SPEECH_SYNTHESIS = [
    (
        "Expressive speech synthesis with prosody tokens",
        "Speech synthesis systems read text aloud but often sound flat. We add prosody tokens "
        "to a text-to-speech vocoder so that synthesized speech carries emphasis, and listeners "
        "rate the speech synthesis as more natural.",
    ),
    (
        "Zero-shot voice cloning for speech synthesis",
        "Voice cloning copies a speaker's voice from a short recording. Our speech synthesis "
        "model clones unseen speakers' voices from three seconds of speech, and a speaker "
        "verification test finds the cloned voices hard to tell from real speech.",
    ),
    (
        "A streaming neural vocoder for low-latency speech synthesis",
        "Low-latency speech synthesis needs a vocoder that streams audio. We design a streaming "
        "neural vocoder that turns mel spectrograms into speech waveforms chunk by chunk, "
        "halving the latency of speech synthesis on a phone.",
    ),
    (
        "Multilingual speech synthesis for low-resource languages",
        "Most speech synthesis covers a few languages. We train one multilingual "
        "text-to-speech model on forty languages, share speaker voices across them, and "
        "synthesize natural speech in low-resource languages with little recorded speech.",
    ),
]

GRAPH_NEURAL_NETWORKS = [
    (
        "Oversmoothing in deep graph neural networks",
        "Graph neural networks pass messages between neighbouring nodes. Deep graph neural "
        "networks suffer from oversmoothing: node embeddings become alike. We add residual "
        "message passing that keeps node embeddings apart on citation graphs.",
    ),
    (
        "Graph neural networks for molecule property prediction",
        "Molecules are graphs of atoms and bonds. We train graph neural networks with message "
        "passing over bonds to predict molecule properties and show that edge features help "
        "graph neural networks on small molecule graphs.",
    ),
    (
        "Scalable graph neural networks on billion-edge graphs",
        "Training graph neural networks on graphs with billions of edges needs sampling. We "
        "sample node neighbourhoods for message passing in mini-batches and train graph neural "
        "networks on a billion-edge social graph with node classification.",
    ),
    (
        "Expressive power of message passing graph neural networks",
        "How expressive are message passing graph neural networks? We relate graph neural "
        "networks to the Weisfeiler-Leman test on graphs and add node identifiers that let "
        "message passing tell apart graphs the test confuses.",
    ),
]

SUBJECTS = {
    "protein folding": PROTEIN_FOLDING,
    "speech synthesis": SPEECH_SYNTHESIS,
    "graph neural networks": GRAPH_NEURAL_NETWORKS,
}


def numbered() -> list[tuple[int, str, str]]:
    """(id, title, abstract) for all twelve, ids 1-12 in subject order, subjects mixed."""
    papers = [paper for subject in SUBJECTS.values() for paper in subject]
    order = [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]  # interleaved, as a day's feed would be
    return [(i + 1, *papers[i]) for i in order]
