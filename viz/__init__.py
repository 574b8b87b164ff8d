"""Diagrams of computation graphs and step-through of the forward and backward pass."""
