// Placeholder until the CLI lands (replaced in the next commits).
int main() { return 0; }
