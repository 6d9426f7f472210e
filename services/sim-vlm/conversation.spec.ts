import { detectAnswerMode, detectRole, questionFromOutput, readAnswererConversation, readQuestionerConversation, type ChatMessageIn } from './conversation';

const image = (url: string) => ({ type: 'image_url', image_url: { url } });
const text = (t: string) => ({ type: 'text', text: t });

describe('detectRole', () => {
  it('prefers "You are the ..." even when the prompt names both roles', () => {
    expect(detectRole([{ role: 'system', content: 'You are the answerer. The questioner asks you things.' }])).toBe('answerer');
    expect(detectRole([{ role: 'system', content: 'You are the questioner. Ask the answerer.' }])).toBe('questioner');
  });

  it('uses the only role word, then the image count', () => {
    expect(detectRole([{ role: 'system', content: 'Act as the guesser.' }])).toBe('questioner');
    expect(detectRole([{ role: 'user', content: [image('a'), image('b')] }])).toBe('questioner');
    expect(detectRole([{ role: 'user', content: [image('a'), text('Question: Is it red?')] }])).toBe('answerer');
  });
});

describe('readQuestionerConversation', () => {
  const messages: ChatMessageIn[] = [
    { role: 'system', content: 'You are the questioner. After 10 questions you must guess.' },
    {
      role: 'user',
      content: [
        text('Here are the 2 candidate images.'),
        text('Image 1:'),
        image('u1'),
        text('Image 2:'),
        image('u2'),
        text('Questions left: 3 of 3. Ask one question or make a guess, as JSON.'),
      ],
    },
    { role: 'assistant', content: '{"question": "Is there a red circle?"}' },
    { role: 'user', content: [text('Answer: yes'), text('Questions left: 2 of 3.')] },
    { role: 'assistant', content: '```json\n{"question": "Is the background white?"}\n```' },
    { role: 'user', content: 'Answer: unsure\nQuestions left: 1 of 3.' },
  ];

  it('pairs its questions with the answers and reads the images in order', () => {
    const conversation = readQuestionerConversation(messages);
    expect(conversation.images).toEqual(['u1', 'u2']);
    expect(conversation.history).toEqual([
      { question: 'Is there a red circle?', answer: 'yes' },
      { question: 'Is the background white?', answer: 'unsure' },
    ]);
    expect(conversation.questionsLeft).toBe(1);
    expect(conversation.mustGuess).toBe(false);
  });

  it('knows when it must guess (only from the last user message)', () => {
    const final = [
      ...messages,
      { role: 'assistant', content: '{"question": "Is there a star?"}' },
      { role: 'user', content: [text('Answer: no'), text('Questions left: 0 of 3. You must guess now: reply with {"guess": <image number>}.')] },
    ];
    expect(readQuestionerConversation(final)).toMatchObject({ mustGuess: true, questionsLeft: 0 });
  });

  it('collects the description of the target', () => {
    const described = [
      messages[0]!,
      { role: 'user', content: [text("The answerer's description of the target: A red circle."), text('Questions left: 3 of 3.')] },
    ];
    expect(readQuestionerConversation(described).descriptions).toEqual(['A red circle.']);
  });

  it('reads questions out of JSON or prose outputs', () => {
    expect(questionFromOutput('{"question": "Is it big?"}')).toBe('Is it big?');
    expect(questionFromOutput('{"guess": 2}')).toBeUndefined();
    expect(questionFromOutput('Question: Is there a star?')).toBe('Is there a star?');
    expect(questionFromOutput('Let me think. Is there a star?')).toBe('Let me think. Is there a star?');
  });
});

describe('readAnswererConversation', () => {
  const system = { role: 'system', content: 'You are the answerer. Reply with {"answer": "yes"}, {"answer": "no"}, or {"answer": "unsure"}.' };

  it('finds the question of the last user message', () => {
    const messages: ChatMessageIn[] = [
      system,
      { role: 'user', content: [text('This is your image.'), image('t'), text('Question: Is there a red circle?')] },
      { role: 'assistant', content: '{"answer": "yes"}' },
      { role: 'user', content: [text('Question: Is it large?')] },
    ];
    expect(readAnswererConversation(messages)).toEqual({ images: ['t'], request: { kind: 'question', text: 'Is it large?' }, mode: 'yesno' });
  });

  it('recognises the describe request and open mode', () => {
    const messages: ChatMessageIn[] = [
      { role: 'system', content: 'You are the answerer. Reply in plain text with a short answer of a few words.' },
      { role: 'user', content: [text('This is your image.'), image('t'), text('Describe the image.')] },
    ];
    expect(readAnswererConversation(messages)).toEqual({ images: ['t'], request: { kind: 'describe' }, mode: 'open' });
    expect(detectAnswerMode([system])).toBe('yesno');
  });

  it('takes a bare question too', () => {
    expect(readAnswererConversation([system, { role: 'user', content: 'Look at this.\nIs the star red?' }]).request).toEqual({
      kind: 'question',
      text: 'Is the star red?',
    });
  });
});
