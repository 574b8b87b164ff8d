"""Neural-network building blocks made of `Value`s."""
