"""SGVLM (Dai et al., "Towards Fine-Grained Video Question Answering", 2025)."""
