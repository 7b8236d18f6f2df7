"""A starting topic set that fits the seed page; editors change it in admin."""

from django.db import migrations

TOPICS = [
    (
        "Zero-shot learning",
        "zero-shot-learning",
        "Models that handle classes, tasks or domains they were never trained on, guided by "
        "descriptions, attributes, prompts or pretrained knowledge instead of labelled examples.",
        "zero-shot, generalized zero-shot, zero shot learning, unseen classes, few-shot, "
        "in-context learning, open-vocabulary",
    ),
    (
        "Zeroth-order optimization",
        "zeroth-order-optimization",
        "Gradient-free optimization that estimates gradients from function values alone: "
        "forward-pass-only fine-tuning, black-box optimization, memory-efficient MeZO-style methods.",
        "zeroth-order, gradient-free, derivative-free, black-box optimization, MeZO, "
        "forward passes, forward pass",
    ),
    (
        "LLM reasoning and RL",
        "llm-reasoning-rl",
        "Reasoning in large language models: chain of thought, test-time compute, verifiers, "
        "reinforcement learning from rewards or feedback to improve mathematical and general "
        "reasoning.",
        "reasoning, reinforcement learning, chain-of-thought, test-time compute, verifier, "
        "RLHF, reward model, self-play, mathematical reasoning, thinking",
    ),
    (
        "Retrieval and search",
        "retrieval-search",
        "Information retrieval and search: dense and generative retrieval, re-ranking, query "
        "reformulation, retrieval-augmented generation and search engines used by LLMs.",
        "retrieval, retrieval-augmented generation, RAG, re-ranking, reranker, ranking, "
        "search engine, dense retrieval, query reformulation, information retrieval",
    ),
    (
        "Efficient training and memory",
        "efficient-training-memory",
        "Making training and inference cheaper: memory optimization, distributed and parallel "
        "training, quantization, pruning, mixture of experts and faster kernels.",
        "memory-efficient, GPU memory, quantization, pruning, ZeRO, distributed training, "
        "data parallelism, mixture-of-experts, efficient training, acceleration, throughput",
    ),
    (
        "Code generation",
        "code-generation",
        "Language models that write, edit, repair and understand program code, and the "
        "benchmarks that measure them.",
        "code generation, code synthesis, program synthesis, programming, HumanEval, "
        "code comprehension, RTL, software engineering",
    ),
    (
        "Vision and multimodal",
        "vision-multimodal",
        "Computer vision and models that combine images, video and text: vision-language "
        "models, diffusion models, dense prediction and multimodal foundation models.",
        "vision-language, multimodal, image, video, diffusion, visual, CLIP, dense prediction, "
        "segmentation, navigation",
    ),
    (
        "Agents",
        "agents",
        "LLM agents that plan, call tools, browse, search and act in environments over many "
        "steps, and the benchmarks that test them.",
        "agent, agentic, tool use, tool calling, planning, web browsing, goal-oriented, "
        "multi-agent, instruction following",
    ),
]


def create_topics(apps, schema_editor):
    Topic = apps.get_model("digest", "Topic")
    for name, slug, description, keywords in TOPICS:
        Topic.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "keywords": keywords}
        )


def remove_topics(apps, schema_editor):
    Topic = apps.get_model("digest", "Topic")
    Topic.objects.filter(slug__in=[slug for _, slug, _, _ in TOPICS]).delete()


class Migration(migrations.Migration):
    dependencies = [("digest", "0001_initial")]

    operations = [migrations.RunPython(create_topics, remove_topics)]
