/** Ordinary English prose (written for these tests) for tokenizer checks and tokens-per-word. */
export const ENGLISH_PARAGRAPHS = [
  "The library opens at nine in the morning and closes at six in the evening, except on Sundays, " +
    "when it stays closed all day. Visitors can borrow up to ten books at a time, and most loans last " +
    "three weeks. If you need a book for longer, you can renew it online or at the front desk, as long " +
    "as nobody else has reserved it.",
  "Last summer we drove along the coast for almost two weeks. Some days the weather was perfect, with " +
    "clear skies and a light breeze coming off the water; on others, a thick fog rolled in before noon " +
    "and we could barely see the road. We stopped in small towns, ate far too much fresh bread, and " +
    "talked to people who had lived there their whole lives.",
  "Good software is rarely written in one pass. Most teams start with a rough version, measure how it " +
    "behaves under real load, and then improve the parts that matter. The hardest problems are often " +
    "not technical at all: they come from unclear requirements, changing priorities, and the simple " +
    "fact that people remember the same meeting in different ways.",
  "My grandmother kept a garden behind her house for more than forty years. She grew tomatoes, beans, " +
    "onions and a few rows of flowers that she refused to name. Every autumn she saved seeds in paper " +
    "envelopes, wrote the year on each one, and stored them in a tin box on the kitchen shelf.",
];

export function wordCount(text: string): number {
  return text.split(/\s+/).filter((w) => w.length > 0).length;
}
